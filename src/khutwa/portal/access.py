"""Access helpers for pages: roles and not-found in one place (a form's refusals: detail_forms)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from khutwa.accounts.models import User
from khutwa.errors import NotFound


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Logged in and holding one of the roles; anyone else gets a 404 (nothing to see here)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not me(request).has_role(*roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def found(getter: Callable[[], Any]) -> Any:
    try:
        return getter()
    except NotFound:
        raise Http404 from None


def me(request: HttpRequest) -> User:
    """The logged-in user (views that call this are behind login_required)."""
    return cast(User, request.user)
