"""Rate limits on the public pages: a refusal is a 429 page in the page's language that says how
long to wait (the counts are those of `khutwa.ratelimit`, shared with the API twins)."""

from __future__ import annotations

import math

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from khutwa import ratelimit


def too_many(request: HttpRequest, purpose: str) -> HttpResponse:
    """The 429 page for `purpose`, with Retry-After."""
    seconds = ratelimit.retry_after(purpose)
    minutes = max(1, math.ceil(seconds / 60))
    message = ngettext(
        "Too many requests from your address; try again in %(minutes)s minute.",
        "Too many requests from your address; try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}
    response = render(
        request,
        "portal/too_many_requests.html",
        {"message": message, "title": _("Too many requests")},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


def refused(request: HttpRequest, purpose: str) -> HttpResponse | None:
    """Count this request of the client for `purpose`: None when within the rate, else the 429
    page (a refused request is not counted)."""
    if ratelimit.allow(purpose, ratelimit.client_of(request)):
        return None
    return too_many(request, purpose)
