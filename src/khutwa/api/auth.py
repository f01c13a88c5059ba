"""API authentication: a bearer token, or the browser's session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from khutwa.accounts.services import api_token_user


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


bearer = BearerToken()
# Either a bearer token or a logged-in session (ninja's session auth checks CSRF).
AUTH = [bearer, django_auth]
