"""Errors under /api/ that no API operation answered, as application/problem+json too."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

from khutwa.api.errors import PROBLEM, problem_body

API_PREFIX = "/api/"
_JSON_TYPES = (PROBLEM, "application/json")


def _detail(request: HttpRequest, response: HttpResponse) -> str:
    status = response.status_code
    if status == 404:
        return _("There is no such address in the API; its operations are listed at /api/v1/docs.")
    if status == 405:
        return _("This address does not take %(method)s; it takes %(allowed)s.") % {
            "method": request.method,
            "allowed": response.get("Allow", "") or "—",
        }
    if status >= 500:
        return _("Something went wrong on our side; it has been logged.")
    if status == 413:
        return _("The request is too large.")
    return _("The request could not be read.")


class ApiProblemMiddleware:
    """Under /api/, an unknown path (404), a method the path does not take (405), an exception
    raised outside an operation (500, which Django has already logged) or a request refused
    before any view (400, 413) answer problem+json in the request's language, like the
    operations' own errors, never an HTML page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PREFIX)
            or response.get("Content-Type", "").split(";")[0].strip() in _JSON_TYPES
        ):
            return response
        language = translation.get_language_from_request(request, check_path=False)
        with translation.override(language):
            body = problem_body(status=response.status_code, detail=_detail(request, response))
        replaced = HttpResponse(
            json.dumps(body, ensure_ascii=False), status=response.status_code, content_type=PROBLEM
        )
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replaced[header] = response[header]
        return replaced
