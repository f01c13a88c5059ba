"""Small HTTP helpers shared by the pages and the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def download(content: bytes | str, *, content_type: str, filename: str) -> HttpResponse:
    """A file the browser saves under `filename` (PDFs, UBL XML, bank files)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry added by the nearest of
    KHUTWA_NUM_PROXIES trusted proxies. One rule for the login lockouts and the rate limits."""
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    proxies = settings.NINJA_NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return remote
    entries = [entry.strip() for entry in str(forwarded).split(",")]
    return entries[-min(proxies, len(entries))] or remote


# Permissions-Policy ----------------------------------------------------------------------

_ALLOWED_ATTR = "_permissions_allowed"


def permissions_allow(*features: str) -> Callable[[_View], _View]:
    """Opens browser features (e.g. "camera") to the site's own origin on one view's pages;
    every other page keeps them off (settings.PERMISSIONS_POLICY_FEATURES)."""
    unknown = set(features) - set(settings.PERMISSIONS_POLICY_FEATURES)
    if unknown:
        raise ValueError(f"not in PERMISSIONS_POLICY_FEATURES: {sorted(unknown)}")

    def decorator(view: _View) -> _View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            setattr(response, _ALLOWED_ATTR, frozenset(features))
            return response

        return cast(_View, wrapped)

    return decorator


def permissions_policy(allowed: frozenset[str] = frozenset()) -> str:
    """The header's value: each feature off (`()`), or open to this origin (`(self)`)."""
    return ", ".join(
        f"{feature}=({'self' if feature in allowed else ''})"
        for feature in settings.PERMISSIONS_POLICY_FEATURES
    )


class PermissionsPolicyMiddleware:
    """Sets Permissions-Policy on every response: powerful features off unless a view opened
    them with `permissions_allow`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.default = permissions_policy()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        allowed = getattr(response, _ALLOWED_ATTR, None)
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = permissions_policy(allowed) if allowed else self.default
        return response
