"""API tokens can be revoked: the one in use (logout), all of a user's (a password change, an
administrator's action); only a hash of each is stored."""

import hashlib

import pytest
from django.test import Client

from khutwa.accounts.models import ApiToken
from khutwa.accounts.roles import Role
from khutwa.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-passphrase-42"


def issue(username: str, password: str = PASSWORD) -> str:
    response = Client().post(
        "/api/v1/auth/token", {"username": username, "password": password}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def me(token: str) -> int:
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_logout_revokes_the_token_in_use_and_no_other(make_user):
    make_user(username="integrator")
    used, other = issue("integrator"), issue("integrator")
    response = Client().post("/api/v1/auth/logout", HTTP_AUTHORIZATION=f"Bearer {used}")
    assert response.status_code == 204
    assert me(used) == 401
    assert me(other) == 200
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 1
    assert AuditEvent.objects.filter(action="accounts.api_token.revoke").count() == 1
    # Revoked once and for all: logging out with it again is refused.
    again = Client().post(
        "/api/v1/auth/logout", HTTP_AUTHORIZATION=f"Bearer {used}", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert again.status_code == 401
    assert again["Content-Type"] == "application/problem+json"


def test_logout_needs_a_token(client):
    response = client.post("/api/v1/auth/logout")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_only_a_hash_of_each_token_is_stored(make_user):
    make_user(username="hashed")
    raw = issue("hashed")
    record = ApiToken.objects.get()
    assert raw not in {record.key_hash, record.prefix}
    assert record.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert len(record.prefix) <= 8  # enough to tell tokens apart, not to use one
    stored = " ".join(str(value) for value in ApiToken.objects.values_list().get())
    assert raw not in stored
    # The hash itself is not a token.
    assert me(record.key_hash) == 401


def test_a_password_change_revokes_every_token_and_ends_other_sessions(make_user):
    user = make_user(username="changer")
    tokens = [issue("changer"), issue("changer")]
    here, elsewhere = Client(), Client()
    for browser in (here, elsewhere):
        assert browser.post("/en/login/", {"username": "changer", "password": PASSWORD}).status_code == 302
    response = here.post(
        "/en/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert all(me(token) == 401 for token in tokens)
    assert not ApiToken.objects.live().filter(user=user).exists()
    # The session that changed it stays; the other one has ended.
    assert here.get("/en/").context["user"] == user
    assert not elsewhere.get("/en/").context["user"].is_authenticated
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="accounts.user.password", object_id=str(user.pk)).exists()
    # A new token with the new password works.
    assert me(issue("changer", NEW_PASSWORD)) == 200


def test_a_refused_password_change_changes_nothing(make_user):
    user = make_user(username="keeper")
    token = issue("keeper")
    client = Client()
    client.force_login(user)
    response = client.post(
        "/en/password/",
        {"old_password": "not-my-password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert me(token) == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_an_administrator_revokes_a_users_tokens(make_user):
    admin = make_user(Role.SYSADMIN, username="sysadmin")
    holder = make_user(Role.HOLDER, cpr="900101003", username="holder")
    bystander = make_user(username="bystander")
    tokens = [issue("holder"), issue("holder")]
    kept = issue("bystander")
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/en/admin/accounts/user/",
        {"action": "revoke_api_tokens", "_selected_action": [holder.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "2 API tokens revoked." in response.content.decode()
    assert all(me(token) == 401 for token in tokens)
    assert me(kept) == 200
    event = AuditEvent.objects.get(action="accounts.api_token.revoke_all")
    assert event.actor_id == admin.pk
    assert bystander.api_tokens.live().count() == 1


def test_a_user_without_the_permission_cannot_revoke(make_user):
    officer = make_user(Role.TAMKEEN_OFFICER, username="officer")
    holder = make_user(Role.HOLDER, cpr="900101004", username="holder2")
    token = issue("holder2")
    client = Client()
    client.force_login(officer)
    client.post("/en/admin/accounts/user/", {"action": "revoke_api_tokens", "_selected_action": [holder.pk]})
    assert me(token) == 200
