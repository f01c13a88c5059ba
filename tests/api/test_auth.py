import datetime as dt

import pytest
from django.utils import timezone

from khutwa.accounts.models import ApiToken
from khutwa.accounts.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _token(client, username, password=PASSWORD, **headers):
    return client.post(
        "/api/v1/auth/token",
        {"username": username, "password": password},
        content_type="application/json",
        **headers,
    )


def test_token_flow_then_me(client, make_user):
    make_user(Role.REVIEWER, body="civil-defence", username="rev")
    response = _token(client, "rev")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["token"].startswith("kh_")
    assert dt.datetime.fromisoformat(body["expires_at"]) > timezone.now()
    assert not ApiToken.objects.filter(key_hash=body["token"]).exists()  # only the hash is kept
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200
    assert me.json() == {
        "username": "rev",
        "roles": ["reviewer"],
        "licence": None,
        "body": "civil-defence",
    }


def test_wrong_password_is_a_problem_in_the_callers_language(client, make_user):
    make_user(username="someone")
    response = _token(client, "someone", "nope", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 401
    assert problem["detail"] == "The username or password is wrong."
    assert problem["errors"][0]["field"] == "password"
    arabic = _token(client, "someone", "nope", HTTP_ACCEPT_LANGUAGE="ar").json()
    assert arabic["detail"] != problem["detail"]
    assert ApiToken.objects.count() == 0


def test_missing_fields_name_the_field(client):
    response = client.post(
        "/api/v1/auth/token",
        {"username": "x"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert {"field": "password", "message": "This field is required."} in response.json()["errors"]


def test_expired_or_unknown_token_is_refused(client, make_user):
    make_user(username="old")
    raw = _token(client, "old").json()["token"]
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer kh_forged").status_code == 401
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_session_auth_works_for_a_logged_in_browser(client, make_user):
    user = make_user(Role.APPLICANT, cpr="900101001", username="app")
    client.force_login(user)
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["roles"] == ["applicant"]


def test_openapi_and_docs_are_served(client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "/api/v1/auth/token" in paths
    assert "/api/v1/catalogue/activities" in paths
    assert client.get("/api/v1/docs").status_code == 200


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_a_malformed_multipart_body_is_a_400_problem(client, make_user):
    from khutwa.accounts.roles import Role

    user = make_user(Role.APPLICANT, cpr="900101009")
    client.force_login(user)
    response = client.generic(
        "POST", "/api/v1/applications/1/attachments", b"x", content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_numbers_too_large_for_the_database_are_not_a_server_error(client, make_user):
    from khutwa.accounts.roles import Role

    user = make_user(Role.HOLDER, cpr="900101010")
    client.force_login(user)
    assert client.get("/api/v1/documents", {"customer": "-311442583652669151248384"}).status_code == 422
    assert client.get("/api/v1/applications/99999999999999999999999").status_code == 404
