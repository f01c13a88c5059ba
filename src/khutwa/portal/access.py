"""Access helpers for pages: roles, refusals and not-found in one place."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from khutwa.accounts.models import User
from khutwa.errors import NotFound, Refused


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


def attempt(request: HttpRequest, action: Callable[[], Any], *, back: str) -> tuple[Any, HttpResponse | None]:
    """Call a service: (its result, None), or on refusal show why and give (None, the way back)."""
    try:
        return action(), None
    except NotFound:
        raise Http404 from None
    except Refused as exc:
        messages.error(request, str(exc.message))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return None, redirect(back)


def run(request: HttpRequest, action: Callable[[], Any], *, success: str, back: str) -> HttpResponse:
    """Call a service; on success show `success`, on refusal show why; go back either way."""
    _result, refused = attempt(request, action, back=back)
    if refused is not None:
        return refused
    messages.success(request, success)
    return redirect(back)


def found(getter: Callable[[], Any]) -> Any:
    try:
        return getter()
    except NotFound:
        raise Http404 from None


def me(request: HttpRequest) -> User:
    """The logged-in user (views that call this are behind login_required)."""
    return cast(User, request.user)
