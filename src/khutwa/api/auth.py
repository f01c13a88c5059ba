"""API authentication: a bearer token, or the browser's session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from khutwa.accounts.security import second_factor_satisfied
from khutwa.accounts.services import api_token_live


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        record = api_token_live(token)
        if record is None:
            return None
        request.user = record.user
        request.api_token = record  # type: ignore[attr-defined]
        return record.user


class VerifiedSession(SessionAuth):
    """The browser's session; staff's only once they proved their second factor in it."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and not second_factor_satisfied(request.user):
            return None
        return user


bearer = BearerToken()
session = VerifiedSession()
# Either a bearer token or a logged-in session (ninja's session auth checks CSRF).
AUTH = [bearer, session]
