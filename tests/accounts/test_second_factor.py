"""Staff prove a TOTP code (django-otp) on the portal, the admin and the API; the demo waives it
for its staff accounts in development only."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from khutwa.accounts.demo import DEMO_ACCOUNTS, demo_accounts
from khutwa.accounts.models import ApiToken, User
from khutwa.accounts.roles import OFFICIAL_ROLES, Role
from khutwa.accounts.security import second_factor_required
from khutwa.config import urls  # noqa: F401 - the URLs and API schemas load before clocks freeze
from tests.config.test_settings import PRODUCTION, _start
from tests.conftest import PASSWORD, totp_code

# django-otp slows a device down after a wrong code (1 s, then 2 s, 4 s...): tests wait this.
AFTER_A_WRONG_CODE = dt.timedelta(seconds=2)


def wrong_code(user: User) -> str:
    return "000000" if totp_code(user) != "000000" else "111111"


pytestmark = pytest.mark.django_db

STAFF = [
    (Role.REGISTRAR, None),
    (Role.REVIEWER, "municipality"),
    (Role.INSPECTOR, "civil-defence"),
    (Role.TAMKEEN_OFFICER, None),
    (Role.TAMKEEN_FINANCE, None),
    (Role.SYSADMIN, None),
]


def password_login(client: Client, username: str):  # type: ignore[no-untyped-def]
    return client.post("/en/login/", {"username": username, "password": PASSWORD})


def api_token(username: str, **extra: str):  # type: ignore[no-untyped-def]
    return Client().post(
        "/api/v1/auth/token",
        {"username": username, "password": PASSWORD, **extra},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.mark.parametrize(("role", "body"), STAFF)
def test_staff_reach_nothing_on_the_portal_before_their_code(make_user, role, body):
    user = make_user(role, body=body, username="official", otp=True)
    client = Client()
    response = password_login(client, "official")
    assert response.status_code == 302
    for page in ("/en/", "/en/password/"):
        blocked = client.get(page)
        assert blocked.status_code == 302
        assert blocked["Location"].startswith("/en/login/code/")
    assert client.get("/api/v1/me").status_code == 401  # nor the API with the session
    with freeze_time(timezone.now()) as clock:
        wrong = client.post("/en/login/code/", {"otp": wrong_code(user)})
        assert "The code is wrong or has expired." in wrong.content.decode()
        assert client.get("/en/").status_code == 302
        clock.tick(AFTER_A_WRONG_CODE)
        assert client.post("/en/login/code/", {"otp": totp_code(user)}).status_code == 302
    assert client.get("/en/").status_code == 200
    assert client.get("/api/v1/me").json()["username"] == "official"


def test_an_applicant_needs_no_code(make_user):
    make_user(Role.APPLICANT, cpr="900101021", username="applicant")
    client = Client()
    assert password_login(client, "applicant")["Location"] == "/en/"
    assert client.get("/en/").status_code == 200
    assert api_token("applicant").status_code == 200


def test_staff_without_a_device_set_one_up_before_anything_else(make_user):
    user = make_user(Role.REGISTRAR, username="newcomer")
    user.otp_exempt = False
    user.save()
    client = Client()
    password_login(client, "newcomer")
    response = client.get("/en/")
    assert response["Location"].startswith("/en/login/authenticator/")
    setup = client.get(response["Location"])
    assert setup.status_code == 200
    assert "<svg" in setup.content.decode()  # the QR code to scan
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post("/en/login/authenticator/", {"otp": "12345"}).status_code == 200
    device.confirmed = True  # only to read the code it shows
    device.save()
    code = totp_code(user)
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=False)
    assert client.post("/en/login/authenticator/", {"otp": code}).status_code == 302
    assert TOTPDevice.objects.get(user=user).confirmed
    assert client.get("/en/").status_code == 200


def test_the_admin_asks_staff_for_their_code(make_user):
    user = make_user(Role.SYSADMIN, username="admin", otp=True)
    client = Client()
    no_code = client.post("/en/admin/login/", {"username": "admin", "password": PASSWORD})
    assert no_code.status_code == 200
    assert "Enter the code from your authenticator app." in no_code.content.decode()
    assert client.get("/en/admin/").status_code == 302
    with freeze_time(timezone.now()) as clock:
        wrong = client.post(
            "/en/admin/login/", {"username": "admin", "password": PASSWORD, "otp_token": wrong_code(user)}
        )
        assert "The code is wrong or has expired." in wrong.content.decode()
        assert client.get("/en/admin/").status_code == 302
        clock.tick(AFTER_A_WRONG_CODE)
        right = client.post(
            "/en/admin/login/?next=/en/admin/",
            {"username": "admin", "password": PASSWORD, "otp_token": totp_code(user)},
        )
    assert right.status_code == 302
    assert client.get("/en/admin/").status_code == 200


def test_a_portal_login_without_the_code_does_not_open_the_admin(make_user):
    make_user(Role.SYSADMIN, username="halfway", otp=True)
    client = Client()
    password_login(client, "halfway")
    response = client.get("/en/admin/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize(("role", "body"), STAFF)
def test_the_api_token_endpoint_asks_staff_for_their_code(make_user, role, body):
    user = make_user(role, body=body, username="official", otp=True)
    missing = api_token("official")
    assert missing.status_code == 401
    assert missing.json()["errors"][0] == {
        "field": "otp",
        "message": "Enter the code from your authenticator app.",
    }
    with freeze_time(timezone.now()) as clock:
        wrong = api_token("official", otp=wrong_code(user))
        assert wrong.status_code == 401
        assert wrong.json()["errors"][0] == {"field": "otp", "message": "The code is wrong or has expired."}
        assert ApiToken.objects.count() == 0
        clock.tick(AFTER_A_WRONG_CODE)
        right = api_token("official", otp=totp_code(user))
    assert right.status_code == 200
    assert set(right.json()) == {"token", "token_type", "expires_at"}


def test_wrong_codes_in_a_row_make_the_next_try_wait(make_user):
    user = make_user(Role.REGISTRAR, username="guesser", otp=True)
    with freeze_time(timezone.now()) as clock:
        for n in range(3):
            if n:
                clock.tick(dt.timedelta(seconds=5))
            assert api_token("guesser", otp=wrong_code(user)).status_code == 401
        clock.tick(dt.timedelta(seconds=3))
        # Three wrong codes: the device waits 4 seconds after the last, even for the right code.
        throttled = api_token("guesser", otp=totp_code(user))
        assert throttled.status_code == 429
        assert throttled.json()["errors"][0]["field"] == "otp"
        assert "Too many wrong codes. Wait" in throttled.json()["detail"]
        assert ApiToken.objects.count() == 0
        clock.tick(dt.timedelta(seconds=2))
        assert api_token("guesser", otp=totp_code(user)).status_code == 200


def test_the_api_refuses_staff_without_a_device(make_user):
    user = make_user(Role.REGISTRAR, username="nodevice")
    user.otp_exempt = False
    user.save()
    response = api_token("nodevice")
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "otp"
    assert ApiToken.objects.count() == 0


def test_the_waiver_is_ignored_unless_the_environment_allows_it(settings, make_user):
    user = make_user(Role.REGISTRAR, username="waived")
    assert user.otp_exempt and not second_factor_required(user)
    settings.KHUTWA_OTP_EXEMPTIONS = False
    assert second_factor_required(user)
    assert api_token("waived").status_code == 403
    client = Client()
    password_login(client, "waived")
    assert client.get("/en/")["Location"].startswith("/en/login/authenticator/")


def test_the_demo_waives_the_code_for_its_staff_in_development(settings):
    settings.KHUTWA_OTP_EXEMPTIONS = True
    demo_accounts(password="demo-pass-123")
    for spec in DEMO_ACCOUNTS:
        user = User.objects.get(username=spec.username)
        assert user.otp_exempt == bool(set(spec.roles) & OFFICIAL_ROLES), spec.username
        assert not second_factor_required(user)
    assert User.objects.filter(otp_exempt=True).exists()


def test_the_demo_waives_nothing_where_exemptions_are_off(settings):
    settings.KHUTWA_OTP_EXEMPTIONS = True
    demo_accounts(password="demo-pass-123")
    settings.KHUTWA_OTP_EXEMPTIONS = False
    demo_accounts(password="demo-pass-123")  # run again: the waivers are withdrawn
    assert not User.objects.filter(otp_exempt=True).exists()
    registrar = User.objects.get(username="registrar")
    assert second_factor_required(registrar)


def test_production_refuses_to_start_with_exemptions(tmp_path):
    result = _start(tmp_path, **PRODUCTION, KHUTWA_OTP_EXEMPTIONS="true")
    assert result.returncode != 0
    assert "KHUTWA_OTP_EXEMPTIONS must be false when KHUTWA_ENV=production" in result.stderr
    development = _start(tmp_path, KHUTWA_OTP_EXEMPTIONS="true")
    assert development.returncode == 0, development.stderr
