"""Who is logged in, how long a login lasts, and the second factor before any staff page.

AuthenticationMiddleware and OTPMiddleware: Django's and django-otp's, except that the user,
their roles, their enterprise and the TOTP device the session was verified with come from one
query (`accounts.selectors.user_for_session`) instead of four. Sessions keep the backend's
dotted path they were made with; the checks are Django's (`django.contrib.auth.get_user`):
a backend no longer configured, a password changed since (the session hash) or a deactivated
account ends the session on the next request, a removed device unverifies it.

SessionPolicyMiddleware: an official's session ends after KHUTWA_STAFF_IDLE_MINUTES without a
request and KHUTWA_STAFF_SESSION_HOURS after logging in; anyone else's KHUTWA_SESSION_DAYS after
logging in. Checked on the server from times kept in the session (the store's own expiry and the
cookie's age follow, but are not relied on).

SecondFactorMiddleware: an official who logged in with a password only reaches nothing but the
pages that verify or set up the TOTP device (and logging out, the language switch, static files);
the API's session authentication refuses them on its own (api/auth.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend, logout
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import middleware as otp_middleware

from khutwa.accounts.security import (
    confirmed_device,
    is_official,
    second_factor_required,
    second_factor_satisfied,
)
from khutwa.accounts.selectors import user_for_session


def session_user(request: HttpRequest) -> Any:
    """`django.contrib.auth.get_user` with the one query of `user_for_session`: the user the
    session names through a backend still configured, if active and the session's hash is the
    password's (or one made with a fallback secret: then renewed); else AnonymousUser, and a
    session whose hash does not match is flushed. Every backend's users load alike (by primary
    key), so no backend's `get_user` is called; an inactive account is refused whichever backend
    logged it in (ModelBackend's rule; the national identity's backend used to let it through)."""
    session = request.session
    try:
        pk = session[SESSION_KEY]
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    if not hasattr(load_backend(backend_path), "get_user"):
        return AnonymousUser()
    user = user_for_session(pk, device_id=_totp_device_id(session.get(DEVICE_ID_SESSION_KEY)))
    if user is None or not user.is_active:
        return AnonymousUser()
    session_hash = session.get(HASH_SESSION_KEY)
    if session_hash and constant_time_compare(session_hash, user.get_session_auth_hash()):
        return user
    if session_hash and any(
        constant_time_compare(session_hash, fallback) for fallback in user.get_session_auth_fallback_hash()
    ):
        session.cycle_key()
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        return user
    session.flush()
    return AnonymousUser()


def _totp_device_id(persistent_id: Any) -> int | None:
    """The TOTP device's primary key in django-otp's persistent id (`otp_totp.totpdevice/<pk>`,
    or the older `django_otp.plugins.otp_totp.models.TOTPDevice/<pk>`); None for anything else."""
    if not isinstance(persistent_id, str):
        return None
    normal = otp_middleware.OTPMiddleware._normalize_persistent_id(persistent_id)
    label, _slash, pk = normal.rpartition("/")
    if label.lower() != "otp_totp.totpdevice" or not pk.isdigit() or not 0 < int(pk) < 2**63:
        return None
    return int(pk)


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with `request.user` from `session_user` (the async `request.auser` is Django's)."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _cached_user(request))  # type: ignore[assignment]


def _cached_user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        request._cached_user = session_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


class OTPMiddleware(otp_middleware.OTPMiddleware):
    """django-otp's, reading the session's TOTP device from the user's own query when
    `session_user` loaded it (and through django-otp otherwise): the same checks follow (the
    device must be the user's and confirmed, or the session forgets it)."""

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        if not user.is_authenticated or not _has_session_device(user):
            return super()._verify_user_sync(request, user)
        self._init_user_fields(user)
        user.otp_device = self._finalize_device(request, user, user.session_device)
        return user


def _has_session_device(user: Any) -> bool:
    """Did `user_for_session` look the session's device up (found or not)?"""
    try:
        user.session_device  # noqa: B018 - raises when the query did not join the device
    except AttributeError:
        return False
    return True


LOGGED_IN_AT = "_khutwa_logged_in_at"
SEEN_AT = "_khutwa_seen_at"
# Writing the session on every request would cost a write each; a minute's slack is harmless.
SEEN_RESOLUTION = 60


def stamp_login(sender: object, request: HttpRequest, user: object, **kwargs: object) -> None:
    """On user_logged_in (connected in apps.py): when this login began. Session bookkeeping,
    not business logic."""
    session = getattr(request, "session", None)
    if session is not None:
        now = int(time.time())
        session[LOGGED_IN_AT] = now
        session[SEEN_AT] = now
        if is_official(user):
            # From the first request on, the store forgets an idle official's session.
            session.set_expiry(settings.KHUTWA_STAFF_IDLE_MINUTES * 60)


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            self._apply(request)
        return self.get_response(request)

    def _apply(self, request: HttpRequest) -> None:
        session = request.session
        now = int(time.time())
        logged_in_at = session.get(LOGGED_IN_AT)
        if logged_in_at is None:  # a session from before these rules: it starts counting now
            session[LOGGED_IN_AT] = logged_in_at = now
        if is_official(request.user):
            seen = int(session.get(SEEN_AT, now))
            idle = settings.KHUTWA_STAFF_IDLE_MINUTES * 60
            if now - seen > idle:
                self._end(
                    request,
                    _("Your session ended after %(minutes)s minutes without activity.")
                    % {"minutes": settings.KHUTWA_STAFF_IDLE_MINUTES},
                )
                return
            if now - int(logged_in_at) > settings.KHUTWA_STAFF_SESSION_HOURS * 3600:
                self._end(request, _("Your session has ended. Please log in again."))
                return
            if now - seen >= SEEN_RESOLUTION or SEEN_AT not in session:
                session[SEEN_AT] = now
                # The store forgets the session (and the browser its cookie) once idle too.
                session.set_expiry(idle)
        elif now - int(logged_in_at) > settings.KHUTWA_SESSION_DAYS * 24 * 3600:
            self._end(request, _("Your session has ended. Please log in again."))

    @staticmethod
    def _end(request: HttpRequest, message: str) -> None:
        logout(request)  # flushes the session and makes request.user anonymous
        messages.info(request, message)


# Where an official who still owes the second factor may go (URL names of the portal).
_OPEN_TO_UNVERIFIED = {"portal:otp_verify", "portal:otp_setup", "portal:logout"}


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and second_factor_required(user)
            and not second_factor_satisfied(user)
            and not self._open(request)
        ):
            step = "portal:otp_verify" if confirmed_device(user) else "portal:otp_setup"
            target = request.get_full_path()
            query = ""
            if request.method == "GET":
                query = "?" + urlencode({"next": target})
            return redirect(reverse(step) + query)
        return self.get_response(request)

    @staticmethod
    def _open(request: HttpRequest) -> bool:
        path = request.path_info
        if path.startswith(
            ("/api/", settings.STATIC_URL, "/i18n/", "/healthz", "/readyz", "/metrics", "/.well-known/")
        ):
            return True
        match = request.resolver_match
        if match is None:
            from django.urls import Resolver404, resolve

            try:
                match = resolve(path)
            except Resolver404:
                return True  # a 404 shows nothing
        return match.view_name in _OPEN_TO_UNVERIFIED
