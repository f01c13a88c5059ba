"""How long a login lasts, and the second factor before any staff page.

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

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from khutwa.accounts.security import (
    confirmed_device,
    is_official,
    second_factor_required,
    second_factor_satisfied,
)

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
