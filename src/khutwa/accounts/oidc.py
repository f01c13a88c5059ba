"""Logging in with the national identity over OpenID Connect (Bahrain's eKey model), through
mozilla-django-oidc: the authorization code flow with PKCE (S256), state and nonce, the ID token's
signature checked against the provider's published keys (RS256 or ES256), its issuer, audience
and expiry checked too.

Configured by environment only (KHUTWA_OIDC_ISSUER, KHUTWA_OIDC_CLIENT_ID,
KHUTWA_OIDC_CLIENT_SECRET); the endpoints and keys come from the provider's discovery document
(<issuer>/.well-known/openid-configuration), fetched and cached, never written down here.

Who the identity is: the CPR number in the claim KHUTWA_OIDC_CPR_CLAIM, nothing else. An account
with that CPR is linked (never one found by e-mail); otherwise an applicant's account is made.
Accounts that act for an authority (any role beyond applicant and licence holder) are never
reached this way: they log in with a password and their second factor (accounts.services
.user_from_national_identity refuses them).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language, get_language_from_path
from django.utils.translation import gettext as _
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from khutwa.accounts.validators import digits_ascii, normalise_bahraini_mobile, validate_cpr

logger = logging.getLogger(__name__)

#: The ID token's signature algorithms accepted (the provider publishes its keys as JWKS).
ALGORITHMS = ("RS256", "ES256")
_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
#: Set on the request when the national identity was recognised but the login is refused.
REFUSAL_ATTRIBUTE = "khutwa_oidc_refusal"
#: The session's note of the language the login began in.
LANGUAGE_KEY = "khutwa_oidc_language"


class ProviderUnavailable(Exception):
    """The provider's discovery document or keys could not be read (or do not match)."""


def oidc_enabled() -> bool:
    return bool(
        settings.KHUTWA_OIDC_ISSUER and settings.KHUTWA_OIDC_CLIENT_ID and settings.KHUTWA_OIDC_CLIENT_SECRET
    )


def _cache_key(kind: str) -> str:
    return f"oidc:{kind}:" + hashlib.sha256(settings.KHUTWA_OIDC_ISSUER.encode()).hexdigest()[:32]


def _fetch_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url}: not a JSON object")
    return document


def discovery(*, refresh: bool = False) -> dict[str, Any]:
    """The provider's discovery document, cached KHUTWA_OIDC_DISCOVERY_SECONDS. Its issuer must be
    the configured one exactly (OpenID Connect Discovery 1.0, section 4.3)."""
    key = _cache_key("discovery")
    document = None if refresh else cache.get(key)
    if document is None:
        issuer = settings.KHUTWA_OIDC_ISSUER
        document = _fetch_json(f"{issuer}/.well-known/openid-configuration")
        if document.get("issuer", "").rstrip("/") != issuer:
            raise ProviderUnavailable(f"discovery names issuer {document.get('issuer')!r}, not {issuer!r}")
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(field), str):
                raise ProviderUnavailable(f"discovery lacks {field}")
        cache.set(key, document, settings.KHUTWA_OIDC_DISCOVERY_SECONDS)
    return document


def provider_keys(*, refresh: bool = False) -> dict[str, Any]:
    """The provider's public keys (JWKS), cached like discovery; read again once when a token
    names a key not in the cached set (the provider rotated its keys)."""
    key = _cache_key("jwks")
    keys = None if refresh else cache.get(key)
    if keys is None:
        keys = _fetch_json(discovery()["jwks_uri"])
        if not isinstance(keys.get("keys"), list):
            raise ProviderUnavailable("the JWKS has no keys")
        cache.set(key, keys, settings.KHUTWA_OIDC_DISCOVERY_SECONDS)
    return keys


def oidc_setting(attr: str, *args: Any) -> Any:
    """mozilla-django-oidc's settings, with the provider's endpoints taken from discovery."""
    if attr in _ENDPOINTS:
        return discovery().get(_ENDPOINTS[attr], *args)
    return import_from_settings(attr, *args)


# --- the identity, from the claims ----------------------------------------------------------


@dataclass(frozen=True)
class NationalIdentity:
    subject: str
    cpr: str
    name_ar: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    email_verified: bool = False
    phone: str = ""
    phone_verified: bool = False


def identity_from_claims(claims: dict[str, Any]) -> NationalIdentity:
    """The person the provider vouches for. The CPR claim is required and must be nine digits."""
    cpr = digits_ascii(str(claims.get(settings.KHUTWA_OIDC_CPR_CLAIM) or ""))
    try:
        validate_cpr(cpr)
    except ValidationError:
        raise SuspiciousOperation(
            f"the identity's {settings.KHUTWA_OIDC_CPR_CLAIM!r} claim is not a CPR"
        ) from None
    first, last = str(claims.get("given_name") or ""), str(claims.get("family_name") or "")
    if not (first or last) and claims.get("name_en"):
        first, _sep, last = str(claims["name_en"]).strip().partition(" ")
    phone = ""
    if claims.get("phone_number"):
        try:
            phone = normalise_bahraini_mobile(str(claims["phone_number"]))
        except ValidationError:
            phone = ""
    return NationalIdentity(
        subject=str(claims.get("sub") or ""),
        cpr=cpr,
        name_ar=" ".join(str(claims.get("name_ar") or "").split())[:200],
        first_name=first.strip()[:150],
        last_name=last.strip()[:150],
        email=str(claims.get("email") or "").strip()[:254],
        email_verified=claims.get("email_verified") is True,
        phone=phone,
        phone_verified=bool(phone) and claims.get("phone_number_verified") is True,
    )


# --- the backend ------------------------------------------------------------------------------


class NationalIdentityBackend(OIDCAuthenticationBackend):
    """Answers only the callback of the code flow (it is given the nonce and the PKCE verifier
    kept in the session); a password login never reaches the provider."""

    get_settings = staticmethod(oidc_setting)
    OIDC_RP_IDP_SIGN_KEY = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # settings are read when used
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return str(discovery()["token_endpoint"])

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return str(discovery().get("userinfo_endpoint") or "")

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return str(settings.KHUTWA_OIDC_CLIENT_ID)

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return str(settings.KHUTWA_OIDC_CLIENT_SECRET)

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if request is None or not oidc_enabled() or "password" in kwargs:
            return None
        if "nonce" not in kwargs or "code_verifier" not in kwargs:
            return None
        if not kwargs["nonce"] or not kwargs["code_verifier"]:
            raise SuspiciousOperation("no nonce or PKCE verifier kept for this state")
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload = self._verify_jws(token, self.retrieve_matching_jwk(token))
        nonce = kwargs.get("nonce")
        if not nonce or payload.get("nonce") != nonce:
            raise SuspiciousOperation("the ID token's nonce is not the one sent")
        return payload

    def retrieve_matching_jwk(self, token: str) -> Any:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise SuspiciousOperation("the ID token is not a JWT") from None
        for refresh in (False, True):
            for jwk in provider_keys(refresh=refresh)["keys"]:
                if header.get("kid") and jwk.get("kid") != header["kid"]:
                    continue
                if jwk.get("use", "sig") != "sig" or jwk.get("alg", header.get("alg")) != header.get("alg"):
                    continue
                try:
                    return jwt.PyJWK(jwk)
                except jwt.PyJWTError:
                    continue
        raise SuspiciousOperation("no key of the provider matches the ID token")

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        header = jwt.get_unverified_header(payload)
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise SuspiciousOperation(f"ID token signed with {algorithm!r}, not one of {ALGORITHMS}")
        try:
            return dict(
                jwt.decode(
                    payload,
                    key,
                    algorithms=[algorithm],
                    audience=settings.KHUTWA_OIDC_CLIENT_ID,
                    issuer=discovery()["issuer"],
                    options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                    leeway=60,
                )
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from None

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        from khutwa.accounts.services import user_from_national_identity
        from khutwa.errors import Refused

        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            info = self.get_userinfo(access_token, id_token, payload)
            if info.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("the userinfo answer is about someone else")
            claims.update({k: v for k, v in info.items() if k not in {"iss", "aud", "exp", "iat", "nonce"}})
        identity = identity_from_claims(claims)
        try:
            return user_from_national_identity(identity=identity)
        except Refused as exc:
            setattr(self.request, REFUSAL_ATTRIBUTE, str(exc.message))
            return None


# --- the views --------------------------------------------------------------------------------


class AuthenticateView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider (state, nonce and the PKCE challenge kept in the session)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        View.__init__(self, *args, **kwargs)  # the endpoints are read when used

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery()["authorization_endpoint"]
        except ProviderUnavailable as exc:
            logger.warning("national identity unavailable: %s", exc)
            messages.error(request, _("The national identity service is not answering. Try again later."))
            return HttpResponseRedirect(reverse("portal:login"))
        self.OIDC_RP_CLIENT_ID = settings.KHUTWA_OIDC_CLIENT_ID
        # The callback has no language in its address: it answers in the one the login began in.
        request.session[LANGUAGE_KEY] = (
            get_language_from_path(request.GET.get("next") or "") or get_language()
        )
        return super().get(request)

    def get_extra_params(self, request: HttpRequest) -> dict[str, Any]:
        return {"ui_locales": get_language() or settings.LANGUAGE_CODE, **super().get_extra_params(request)}


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider sends the browser back here with the code; a wrong or missing state, a nonce
    that does not match, a token signed by another key: the login page says it did not work."""

    get_settings = staticmethod(oidc_setting)

    @property
    def failure_url(self) -> str:
        return reverse("portal:login")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = request.session.get(LANGUAGE_KEY)
        if language not in dict(settings.LANGUAGES):
            language = get_language()
        with translation.override(language):
            return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404
        try:
            return super().get(request)
        except (SuspiciousOperation, ProviderUnavailable, requests.RequestException) as exc:
            logger.warning("national identity login refused: %s", exc)
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        refusal = getattr(self.request, REFUSAL_ATTRIBUTE, "")
        messages.error(
            self.request,
            refusal
            or _(
                "The login with the national identity did not complete. Try again, or log in with "
                "your password."
            ),
        )
        return HttpResponseRedirect(self.failure_url)


def logout_url(request: HttpRequest) -> str | None:
    """Where to send the browser after the local logout when the session came from the national
    identity and the provider offers RP-initiated logout; None otherwise."""
    id_token = request.session.get("oidc_id_token")
    if not id_token or not oidc_enabled():
        return None
    try:
        end = discovery().get("end_session_endpoint")
    except ProviderUnavailable:
        return None
    if not end:
        return None
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("portal:home")),
        "client_id": settings.KHUTWA_OIDC_CLIENT_ID,
    }
    return f"{end}?{urlencode(params)}"
