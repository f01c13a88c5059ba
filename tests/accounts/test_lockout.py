"""Repeated failed logins lock the account (from any address) and the address (for any
account), on every login path — the portal, the admin and the API's token endpoint share one
count in the database — and the refusal says how long to wait, in the caller's language."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone, translation
from freezegun import freeze_time

from khutwa.accounts.lockout import lockout_message
from khutwa.accounts.models import ApiToken
from khutwa.accounts.roles import Role
from khutwa.config import urls  # noqa: F401 - the URLs and API schemas load before clocks freeze
from tests.conftest import PASSWORD
from tests.documents.test_concurrency import ROOT, _env, database_url  # noqa: F401 - a fixture
from tests.processes import migrate

pytestmark = pytest.mark.django_db

ACCOUNT_LIMIT = 5
IP_LIMIT = 20


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.KHUTWA_LOCKOUT_ACCOUNT_FAILURES = ACCOUNT_LIMIT
    settings.AXES_FAILURE_LIMIT = ACCOUNT_LIMIT
    settings.KHUTWA_LOCKOUT_IP_FAILURES = IP_LIMIT
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)


def portal_login(client, username, password, lang="en", ip="10.0.0.1"):
    return client.post(f"/{lang}/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def admin_login(client, username, password, ip="10.0.0.1"):
    return client.post(
        "/en/admin/login/?next=/en/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def api_token(client, username, password, lang="en", ip="10.0.0.1"):
    return client.post(
        "/api/v1/auth/token",
        {"username": username, "password": password},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=lang,
        REMOTE_ADDR=ip,
    )


def arabic_lockout(*, minutes: int) -> str:
    """The lockout message as an Arabic reader gets it (from the catalogue of translations)."""
    with translation.override("ar"):
        return lockout_message(dt.timedelta(minutes=minutes))


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_portal_refuses_the_right_password_after_five_wrong_ones_and_says_how_long_to_wait(make_user):
    make_user(Role.APPLICANT, cpr="900101001", username="zainab")
    client = Client()
    for _ in range(ACCOUNT_LIMIT - 1):
        response = portal_login(client, "zainab", "wrong-password")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    locking = portal_login(client, "zainab", "wrong-password")
    assert locking.status_code == 429
    assert "Too many failed login attempts. Try again in 15 minutes." in locking.content.decode()

    refused = portal_login(client, "zainab", PASSWORD)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) in range(14 * 60, 15 * 60 + 1)
    assert "Try again in 15 minutes." in refused.content.decode()
    assert not logged_in(client)

    arabic = portal_login(Client(), "zainab", PASSWORD, lang="ar")
    assert arabic.status_code == 429
    assert '<html lang="ar" dir="rtl">' in arabic.content.decode()
    assert arabic_lockout(minutes=15) in arabic.content.decode()


def test_the_wait_counts_down_and_the_lock_ends_by_itself(make_user):
    make_user(Role.APPLICANT, cpr="900101002", username="noor")
    start = timezone.now()
    with freeze_time(start) as clock:
        for _ in range(ACCOUNT_LIMIT):
            portal_login(Client(), "noor", "wrong-password")
        clock.tick(dt.timedelta(minutes=10, seconds=30))
        response = portal_login(Client(), "noor", PASSWORD)
        assert response.status_code == 429
        assert "Try again in 5 minutes." in response.content.decode()
        clock.tick(dt.timedelta(minutes=5))
        client = Client()
        assert portal_login(client, "noor", PASSWORD).status_code == 302
        assert logged_in(client)


def test_tries_while_locked_do_not_extend_the_lock(make_user):
    make_user(username="steady")
    start = timezone.now()
    with freeze_time(start) as clock:
        for _ in range(ACCOUNT_LIMIT):
            portal_login(Client(), "steady", "wrong-password")
        for _ in range(14):
            clock.tick(dt.timedelta(minutes=1))
            assert portal_login(Client(), "steady", "wrong-password").status_code == 429
        clock.tick(dt.timedelta(minutes=1, seconds=1))
        assert portal_login(Client(), "steady", PASSWORD).status_code == 302


def test_the_admin_login_locks_too_and_says_how_long(make_user):
    make_user(Role.REGISTRAR, username="maryam")
    client = Client()
    for _ in range(ACCOUNT_LIMIT):
        admin_login(client, "maryam", "wrong-password")
    response = admin_login(client, "maryam", PASSWORD)
    assert response.status_code == 429
    assert "Try again in 15 minutes." in response.content.decode()
    assert not logged_in(client)
    assert client.get("/en/admin/").status_code == 302  # still to the login


def test_the_api_token_endpoint_locks_too_with_a_problem_in_the_callers_language(make_user):
    make_user(username="integrator")
    client = Client()
    for _ in range(ACCOUNT_LIMIT - 1):
        assert api_token(client, "integrator", "wrong-password").status_code == 401
    locking = api_token(client, "integrator", "wrong-password")
    assert locking.status_code == 429
    refused = api_token(client, "integrator", PASSWORD)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert int(refused["Retry-After"]) > 14 * 60
    problem = refused.json()
    assert problem["status"] == 429
    assert problem["detail"] == "Too many failed login attempts. Try again in 15 minutes."
    assert problem["errors"][0]["field"] == "password"
    arabic = api_token(client, "integrator", PASSWORD, lang="ar").json()
    assert arabic["detail"] == arabic_lockout(minutes=15)
    assert arabic["title"] != problem["title"]  # the request's language, not the server's
    assert ApiToken.objects.count() == 0


def test_failures_on_every_path_add_up_to_one_count(make_user):
    make_user(Role.REGISTRAR, username="shared")
    client = Client()
    portal_login(client, "shared", "wrong-1")
    portal_login(client, "shared", "wrong-2")
    admin_login(client, "shared", "wrong-3")
    admin_login(client, "shared", "wrong-4")
    api_token(client, "shared", "wrong-5")
    assert portal_login(client, "shared", PASSWORD).status_code == 429
    assert admin_login(client, "shared", PASSWORD).status_code == 429
    assert api_token(client, "shared", PASSWORD).status_code == 429


def test_the_account_is_locked_from_every_address_but_another_account_at_that_address_is_not(make_user):
    make_user(username="victim")
    make_user(username="neighbour")
    for n in range(ACCOUNT_LIMIT):  # a botnet: each guess from another address
        portal_login(Client(), "victim", f"guess-{n}", ip=f"10.1.0.{n + 1}")
    assert portal_login(Client(), "victim", PASSWORD, ip="10.9.9.9").status_code == 429
    # The address that guessed last is under its own (higher) limit: its other users log in.
    neighbour = Client()
    assert portal_login(neighbour, "neighbour", PASSWORD, ip=f"10.1.0.{ACCOUNT_LIMIT}").status_code == 302
    assert logged_in(neighbour)


def test_an_address_spraying_many_accounts_is_locked_for_every_account(make_user):
    make_user(username="sprayed")
    for n in range(IP_LIMIT):  # one password tried on many accounts: no account reaches 5
        portal_login(Client(), f"someone{n}", "Summer2026!", ip="10.2.0.1")
    refused = portal_login(Client(), "sprayed", PASSWORD, ip="10.2.0.1")
    assert refused.status_code == 429
    assert "Try again in 15 minutes." in refused.content.decode()
    assert api_token(Client(), "sprayed", PASSWORD, ip="10.2.0.1").status_code == 429
    # The same account from elsewhere is fine: its own count is zero.
    assert portal_login(Client(), "sprayed", PASSWORD, ip="10.2.0.2").status_code == 302


def test_a_success_clears_the_accounts_own_failures_only(make_user):
    make_user(username="typo")
    make_user(username="target")
    make_user(username="attacker")
    client = Client()
    for _ in range(ACCOUNT_LIMIT - 1):
        portal_login(client, "typo", "wrong-password")
    assert portal_login(Client(), "typo", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="typo").exists()
    # Logging into one's own account does not wipe the count against someone else's from the
    # same address (as django-axes' own reset would).
    for _ in range(ACCOUNT_LIMIT - 1):
        portal_login(Client(), "target", "guess", ip="10.3.0.1")
    assert portal_login(Client(), "attacker", PASSWORD, ip="10.3.0.1").status_code == 302
    assert portal_login(Client(), "target", "guess", ip="10.3.0.1").status_code == 429
    assert portal_login(Client(), "target", PASSWORD, ip="10.3.0.1").status_code == 429


def test_behind_trusted_proxies_the_forwarded_address_is_counted(settings, make_user):
    settings.NINJA_NUM_PROXIES = 1
    make_user(username="proxied")
    make_user(username="other")
    for n in range(IP_LIMIT):
        Client().post(
            "/en/login/",
            {"username": f"nobody{n}", "password": "x"},
            REMOTE_ADDR="192.0.2.10",
            HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7",
        )
    assert AccessAttempt.objects.filter(ip_address="203.0.113.7").count() == IP_LIMIT
    locked = Client().post(
        "/en/login/",
        {"username": "proxied", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.10",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    assert locked.status_code == 429
    # Another client behind the same proxy is not locked out with the spraying one.
    other = Client().post(
        "/en/login/",
        {"username": "other", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.10",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert other.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_the_count_is_shared_by_separate_processes(database_url, tmp_path):  # noqa: F811 - the fixture
    """Two processes (two workers, or two nodes) on one database: failures made through one
    lock the account in the other — nothing is counted in a process's memory."""
    env = {**_env(database_url, tmp_path), "KHUTWA_MANIFEST_STATIC": "false"}  # no collectstatic
    worker = str(Path(__file__).with_name("lockout_worker.py"))

    def run(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, worker, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    migrate(env)
    run("setup")
    assert run("fail", "3") == "200 200 200"
    assert run("fail", "2") == "200 429"  # the fifth, counted with the first three, locks
    assert run("login") == "429"
