"""Sessions: staff (registrar, reviewers, Tamkeen officer and finance) end after 30 minutes
idle; everyone else's after 14 days at most; the session id changes at login."""

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from khutwa.accounts.roles import Role
from khutwa.config import urls  # noqa: F401 - the URLs and API schemas load before clocks freeze
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

STAFF = [
    (Role.REGISTRAR, None),
    (Role.REVIEWER, "food-control"),
    (Role.TAMKEEN_OFFICER, None),
    (Role.TAMKEEN_FINANCE, None),
]


def login(username: str) -> Client:
    client = Client()
    assert client.post("/en/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def user_of(client: Client):  # type: ignore[no-untyped-def]
    return client.get("/en/").context["user"]


@pytest.mark.parametrize(("role", "body"), STAFF)
def test_a_staff_session_ends_after_thirty_idle_minutes(make_user, role, body):
    user = make_user(role, body=body, username="official")
    with freeze_time(timezone.now()) as clock:
        client = login("official")
        clock.tick(dt.timedelta(minutes=29))
        assert user_of(client) == user  # activity: the idle time starts again
        clock.tick(dt.timedelta(minutes=29))
        assert user_of(client) == user
        clock.tick(dt.timedelta(minutes=31))
        assert not user_of(client).is_authenticated
        # Ended on the server, not only in the browser: the session's id alone no longer works.
        assert not client.session.get("_auth_user_id")


def test_the_store_and_the_cookie_of_a_staff_session_expire_with_the_idle_time(make_user):
    make_user(Role.REGISTRAR, username="registrar")
    client = login("registrar")
    client.get("/en/")
    assert client.session.get_expiry_age() == settings.KHUTWA_STAFF_IDLE_MINUTES * 60 == 30 * 60


def test_an_applicants_session_survives_idle_days_but_not_fourteen_days(make_user):
    user = make_user(Role.APPLICANT, cpr="900101011", username="applicant")
    with freeze_time(timezone.now()) as clock:
        client = login("applicant")
        clock.tick(dt.timedelta(days=6))
        assert user_of(client) == user  # idle for days: still logged in
        clock.tick(dt.timedelta(days=7, hours=23))
        assert user_of(client) == user
        clock.tick(dt.timedelta(hours=2))  # 14 days and an hour after logging in, however active
        assert not user_of(client).is_authenticated
    assert settings.SESSION_COOKIE_AGE == 14 * 24 * 3600


def test_the_session_id_changes_at_login(make_user):
    make_user(username="rotating")
    client = Client()
    client.get("/en/login/")
    client.session.save()  # a session an attacker could have planted before the login
    planted = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = client.post("/en/login/", {"username": "rotating", "password": PASSWORD})
    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != planted
    # The planted id is worth nothing now.
    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted
    assert not user_of(attacker).is_authenticated


def test_the_session_id_changes_again_when_staff_prove_their_second_factor(make_user):
    from tests.conftest import totp_code

    user = make_user(Role.REGISTRAR, username="twice", otp=True)
    client = login("twice")
    after_password = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = client.post("/en/login/code/", {"otp": totp_code(user)})
    assert response.status_code == 302
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != after_password
    assert user_of(client) == user
