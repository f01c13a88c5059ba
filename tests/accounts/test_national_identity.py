"""Logging in with the national identity (OpenID Connect) against a real provider: npm's
oidc-provider on 127.0.0.1 (tests/accounts/oidc_provider). Django's test client is the browser on
the portal's side, `requests` on the provider's."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import SuspiciousOperation
from django.utils import translation

from khutwa.accounts import oidc
from khutwa.accounts.models import User
from khutwa.accounts.roles import Role
from khutwa.audit.models import AuditEvent
from tests.accounts.oidc_provider import through_provider

pytestmark = pytest.mark.django_db

BACK = "http://testserver"


def start(client, next_url="/en/my/"):  # type: ignore[no-untyped-def]
    """The portal's first step: the redirect to the provider's authorization endpoint."""
    response = client.get("/oidc/authenticate/", {"next": next_url})
    assert response.status_code == 302
    return response["Location"]


def finish(client, callback_url):  # type: ignore[no-untyped-def]
    """The provider's redirect back, handed to the portal."""
    parts = urlsplit(callback_url)
    return client.get(parts.path + "?" + parts.query)


def login(client, next_url="/en/my/"):  # type: ignore[no-untyped-def]
    browser = requests.Session()
    callback = through_provider(browser, start(client, next_url), back_to=BACK)
    return finish(client, callback), browser


def logged_in_user(client):  # type: ignore[no-untyped-def]
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_the_login_page_offers_the_national_identity_only_when_configured(client, settings):
    settings.KHUTWA_OIDC_ISSUER = ""
    page = client.get("/en/login/")
    assert b'id="national-identity-login"' not in page.content
    assert client.get("/oidc/authenticate/").status_code == 404


def test_the_login_page_offers_it_in_arabic_when_configured(client, national_identity):
    page = client.get("/ar/login/")
    assert 'id="national-identity-login"' in page.content.decode()
    assert page.content.decode().startswith('<!doctype html>\n<html lang="ar"')
    with translation.override("ar"):
        assert translation.gettext("Log in with the national identity") in page.content.decode()


def test_discovery_gives_the_endpoints_and_is_cached(national_identity, monkeypatch):
    calls = []
    fetch = oidc._fetch_json
    monkeypatch.setattr(oidc, "_fetch_json", lambda url: calls.append(url) or fetch(url))
    first = oidc.discovery()
    second = oidc.discovery()
    assert first["issuer"] == national_identity.issuer
    assert first["authorization_endpoint"] == f"{national_identity.issuer}/auth"
    assert second == first
    assert calls == [national_identity.discovery_url]


def test_a_discovery_document_for_another_issuer_is_refused(national_identity, settings):
    settings.KHUTWA_OIDC_ISSUER = national_identity.issuer.replace("127.0.0.1", "localhost")
    with pytest.raises(oidc.ProviderUnavailable):
        oidc.discovery()


def test_the_authorization_request_carries_pkce_state_and_nonce(client, national_identity):
    location = start(client)
    params = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{national_identity.issuer}/auth?")
    assert params["code_challenge_method"] == ["S256"]
    assert len(params["code_challenge"][0]) == 43
    assert params["nonce"][0] and params["state"][0]
    assert params["redirect_uri"] == ["http://testserver/oidc/callback/"]


def test_the_code_flow_makes_an_applicant_from_the_cpr_and_names(client, national_identity):
    response, _browser = login(client)
    assert response.status_code == 302
    assert response["Location"] == "/en/my/"
    user = logged_in_user(client)
    assert user is not None
    assert user.cpr == "850101239"
    assert user.username == "850101239"
    assert (user.name_ar, user.first_name, user.last_name) == ("مريم علي", "Maryam", "Ali")
    assert user.email == "maryam@example.bh" and user.email_confirmed_at is not None
    assert user.phone == "+97336001234" and user.phone_confirmed_at is not None
    assert user.role_names() == {Role.APPLICANT}
    assert not user.has_usable_password()
    assert AuditEvent.objects.filter(
        action="accounts.user.national_identity", object_id=str(user.pk)
    ).exists()
    # The page the user lands on is theirs.
    assert client.get("/en/my/").status_code == 200


def test_an_existing_citizen_is_linked_by_cpr(client, national_identity, make_user):
    existing = make_user(Role.APPLICANT, Role.HOLDER, cpr="850101239", username="maryam", name_ar="قديم")
    login(client)
    user = logged_in_user(client)
    assert user.pk == existing.pk
    assert user.name_ar == "مريم علي"
    assert User.objects.filter(cpr="850101239").count() == 1


def test_an_account_with_the_same_email_is_never_linked(client, national_identity, make_user):
    other = make_user(Role.APPLICANT, cpr="900101008", username="someone", email="maryam@example.bh")
    login(client)
    user = logged_in_user(client)
    assert user.pk != other.pk
    assert user.cpr == "850101239"
    assert user.email == ""  # the address is someone else's: not copied, not confirmed
    other.refresh_from_db()
    assert other.cpr == "900101008"


@pytest.mark.parametrize("role", [Role.REGISTRAR, Role.REVIEWER, Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE])
def test_a_staff_account_is_not_taken_over(client, national_identity, make_user, role):
    body = "civil-defence" if role == Role.REVIEWER else None
    staff = make_user(role, cpr="850101239", username="official", body=body)
    response, _browser = login(client)
    assert response.status_code == 302
    assert response["Location"] == "/en/login/"
    assert logged_in_user(client) is None
    page = client.get(response["Location"])
    assert "staff account" in page.content.decode()
    staff.refresh_from_db()
    assert staff.has_usable_password() and staff.role_names() >= {role}
    assert AuditEvent.objects.filter(action="accounts.user.national_identity_refused").exists()


def test_a_superuser_is_not_taken_over(client, national_identity, make_user):
    make_user(cpr="850101239", username="root", is_superuser=True, is_staff=True)
    login(client)
    assert logged_in_user(client) is None


def test_a_tampered_state_is_refused(client, national_identity):
    browser = requests.Session()
    callback = through_provider(browser, start(client), back_to=BACK)
    tampered = callback.replace("state=", "state=x", 1)
    response = finish(client, tampered)
    assert response.status_code == 302 and response["Location"] == "/en/login/"
    assert logged_in_user(client) is None


def test_a_callback_without_a_login_started_here_is_refused(client, national_identity):
    browser = requests.Session()
    callback = through_provider(browser, start(client), back_to=BACK)
    client.cookies.clear()  # another browser: no state in its session
    response = finish(client, callback)
    assert response.status_code == 302
    assert logged_in_user(client) is None
    assert not User.objects.filter(cpr="850101239").exists()


@pytest.mark.parametrize("nonce", [None, "", "not-the-nonce-that-was-sent"])
def test_an_absent_or_wrong_nonce_is_refused(client, national_identity, nonce):
    browser = requests.Session()
    callback = through_provider(browser, start(client), back_to=BACK)
    session = client.session
    state = parse_qs(urlsplit(callback).query)["state"][0]
    session["oidc_states"][state]["nonce"] = nonce
    session.save()
    response = finish(client, callback)
    assert response["Location"] == "/en/login/"
    assert logged_in_user(client) is None
    assert not User.objects.filter(cpr="850101239").exists()


def test_a_wrong_pkce_verifier_is_refused_by_the_provider(client, national_identity):
    browser = requests.Session()
    callback = through_provider(browser, start(client), back_to=BACK)
    session = client.session
    state = parse_qs(urlsplit(callback).query)["state"][0]
    session["oidc_states"][state]["code_verifier"] = "x" * 64
    session.save()
    response = finish(client, callback)
    assert response["Location"] == "/en/login/"
    assert logged_in_user(client) is None


def _forged_token(issuer: str, *, nonce: str, kid: str = "test-rs256") -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": issuer, "aud": "khutwa", "sub": "citizen", "iat": now, "exp": now + 300, "nonce": nonce}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_an_id_token_signed_by_another_key_is_refused(national_identity):
    backend = oidc.NationalIdentityBackend()
    for kid in ("test-rs256", "unknown-key"):
        with pytest.raises(SuspiciousOperation):
            backend.verify_token(_forged_token(national_identity.issuer, nonce="n", kid=kid), nonce="n")


def test_an_unsigned_or_hmac_token_is_refused(national_identity):
    backend = oidc.NationalIdentityBackend()
    now = int(time.time())
    claims = {
        "iss": national_identity.issuer,
        "aud": "khutwa",
        "sub": "c",
        "iat": now,
        "exp": now + 60,
        "nonce": "n",
    }
    for token in (
        jwt.encode(claims, None, algorithm="none", headers={"kid": "test-rs256"}),
        jwt.encode(claims, "test-client-secret-with-enough-length-0123456789", algorithm="HS256"),
    ):
        with pytest.raises(SuspiciousOperation):
            backend.verify_token(token, nonce="n")


def test_an_es256_provider_key_is_accepted(client, national_identity, settings):
    settings.KHUTWA_OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = "khutwa-es"
    settings.OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"login_hint": "resident"}
    response, _browser = login(client, "/ar/")
    assert response["Location"] == "/ar/"
    user = logged_in_user(client)
    assert user.cpr == "950505129"
    assert (user.first_name, user.last_name, user.name_ar) == ("Rajesh", "Kumar", "راجيش كومار")
    assert user.email_confirmed_at is None and user.phone_confirmed_at is None


def test_an_identity_without_a_cpr_logs_nobody_in(client, national_identity, settings):
    settings.OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"login_hint": "no-cpr"}
    response, _browser = login(client)
    assert response["Location"] == "/en/login/"
    assert logged_in_user(client) is None
    assert User.objects.count() == 0


def test_logout_ends_the_session_and_the_providers(client, national_identity):
    _response, browser = login(client, "/en/")
    assert logged_in_user(client) is not None
    response = client.post("/en/logout/")
    assert logged_in_user(client) is None
    end = response["Location"]
    assert end.startswith(f"{national_identity.issuer}/session/end?")
    params = parse_qs(urlsplit(end).query)
    assert params["post_logout_redirect_uri"] == ["http://testserver/en/"]
    assert params["id_token_hint"][0].count(".") == 2
    # The provider asks to confirm, then sends the browser back to the portal's home.
    page = browser.get(end, timeout=10)
    assert page.status_code == 200 and 'id="op-logout-yes"' in page.text
    action = page.text.split('action="', 1)[1].split('"', 1)[0]
    xsrf = page.text.split('name="xsrf" value="', 1)[1].split('"', 1)[0]
    done = browser.post(
        requests.compat.urljoin(end, action),
        data={"xsrf": xsrf, "logout": "yes"},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code in (302, 303)
    assert done.headers["Location"] == "http://testserver/en/"


def test_a_password_login_logs_out_locally_only(client, make_user, national_identity):
    user = make_user(Role.APPLICANT, cpr="850101239")
    client.force_login(user)
    response = client.post("/en/logout/")
    assert response["Location"] == "/en/"
