"""Error pages in the site's layout and the request's language: 403, 404, 500 and a refused
form (CSRF). The 500 page reads neither the database nor the request's user."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.template import loader


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the form was sent without its security token or with an old one."""
    return HttpResponseForbidden(loader.render_to_string("403_csrf.html", request=request))
