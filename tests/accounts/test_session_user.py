"""The logged-in request: the user, their roles, their enterprise and the session's TOTP device
come from one query (accounts/middleware.py, `accounts.selectors.user_for_session`), and nothing
about them is kept between requests: a deactivated account, a changed password, a revoked role
or a removed device shows on the very next request."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from khutwa.accounts.models import Enterprise, User
from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from tests.conftest import PASSWORD, totp_code

pytestmark = pytest.mark.django_db

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
NATIONAL_IDENTITY_BACKEND = "khutwa.accounts.oidc.NationalIdentityBackend"
# The tables of what a request asks about its user (each read on its own before).
USER_TABLES = ("accounts_user", "auth_group", "accounts_enterprise", "otp_totp_totpdevice")


def verified_official(make_user, role: str = Role.REGISTRAR, body: str | None = None) -> tuple[User, Client]:  # type: ignore[no-untyped-def]
    """An official logged in on the portal with their password and their authenticator's code."""
    user = make_user(role, body=body, username="official", otp=True)
    client = Client()
    assert client.post("/en/login/", {"username": "official", "password": PASSWORD}).status_code == 302
    assert client.post("/en/login/code/", {"otp": totp_code(user)}).status_code == 302
    return user, client


def user_queries(client: Client, path: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(path).status_code
    sql = [q["sql"] for q in ctx.captured_queries]
    return status, [s for s in sql if any(f'"{table}"' in s for table in USER_TABLES)]


def test_an_officials_user_roles_and_device_are_one_query(make_user):
    _user, client = verified_official(make_user)
    status, queries = user_queries(client, "/en/registrar/")
    assert status == 200
    assert len(queries) == 1, queries


def test_a_customers_user_roles_and_enterprise_are_one_query(make_user):
    user = make_user(Role.APPLICANT, Role.HOLDER, cpr="900101011", username="holder")
    Enterprise.objects.create(
        user=user, cr_number="12345-1", submitted_at=timezone.now(), verified_at=timezone.now()
    )
    client = Client()
    client.force_login(user)
    status, queries = user_queries(client, "/en/documents/")
    assert status == 200
    assert len(queries) == 1, queries
    assert client.get("/en/").context["user"].verified_cr == "12345-1"


def test_roles_are_read_exactly_whatever_a_group_is_called(make_user):
    user = make_user(Role.REVIEWER, body="municipality", username="reviewer")
    odd = Group.objects.create(name='registrar", "sysadmin')  # not a role, nor two
    user.groups.add(odd)
    client = Client()
    client.force_login(user)
    roles = client.get("/en/").context["user"].role_names()
    assert roles == {Role.REVIEWER, 'registrar", "sysadmin'}
    assert client.get("/en/registrar/").status_code == 404


def test_the_backend_a_session_was_made_with_still_logs_it_in(make_user):
    user = make_user(Role.APPLICANT, cpr="900101011", username="applicant")
    for backend in (MODEL_BACKEND, NATIONAL_IDENTITY_BACKEND):
        client = Client()
        client.force_login(user, backend=backend)
        assert client.session["_auth_user_backend"] == backend
        assert client.get("/en/").context["user"] == user


@pytest.mark.parametrize("backend", [MODEL_BACKEND, NATIONAL_IDENTITY_BACKEND])
def test_a_deactivated_account_is_logged_out_on_its_next_request(make_user, backend):
    user = make_user(Role.APPLICANT, cpr="900101011", username="applicant")
    client = Client()
    client.force_login(user, backend=backend)
    assert client.get("/en/my/").status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get("/en/my/")
    assert response.status_code == 302
    assert response["Location"].startswith("/en/login/")


def test_a_changed_password_ends_the_other_sessions(make_user):
    user = make_user(Role.APPLICANT, cpr="900101011", username="applicant")
    client = Client()
    client.force_login(user)
    assert client.get("/en/my/").status_code == 200
    user.set_password("another-long-passphrase-9")
    user.save(update_fields=["password"])
    assert client.get("/en/my/")["Location"].startswith("/en/login/")
    assert "_auth_user_id" not in client.session  # the session was flushed on the server


def test_a_revoked_role_takes_effect_on_the_next_request(make_user):
    _user, client = verified_official(make_user)
    assert client.get("/en/registrar/").status_code == 200
    user_set_roles(user=_user, roles=[Role.APPLICANT], actor=None)
    assert client.get("/en/registrar/").status_code == 404


def test_a_removed_device_unverifies_the_session_on_the_next_request(make_user):
    user, client = verified_official(make_user)
    assert client.get("/en/registrar/").status_code == 200
    TOTPDevice.objects.filter(user=user).delete()
    response = client.get("/en/registrar/")
    assert response.status_code == 302
    assert response["Location"].startswith("/en/login/authenticator/")
    assert "otp_device_id" not in client.session


def test_another_users_device_in_the_session_verifies_nothing(make_user):
    user, client = verified_official(make_user)
    other = make_user(Role.REGISTRAR, username="other", otp=True)
    session = client.session
    session["otp_device_id"] = TOTPDevice.objects.get(user=other).persistent_id
    session.save()
    response = client.get("/en/registrar/")
    assert response.status_code == 302
    assert response["Location"].startswith("/en/login/code/")
    assert TOTPDevice.objects.filter(user=user).exists()
