"""Errors as application/problem+json (RFC 9457), in the request's language."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from khutwa.errors import Refused

PROBLEM = "application/problem+json"


class ApiProblem(Exception):
    """Raised by API operations for a refusal with a status, a detail and field errors."""

    def __init__(
        self, status: int, detail: str, errors: list[dict[str, str]] | None = None, type_: str = ""
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.type = type_


# English titles (they also name the problem type); translated when the response is built.
_TITLES = {
    400: gettext_noop("Bad request"),
    401: gettext_noop("Authentication required"),
    403: gettext_noop("Forbidden"),
    404: gettext_noop("Not found"),
    405: gettext_noop("Method not allowed"),
    409: gettext_noop("Conflict"),
    413: gettext_noop("Request too large"),
    415: gettext_noop("Unsupported media type"),
    422: gettext_noop("Invalid input"),
    429: gettext_noop("Too many requests"),
    500: gettext_noop("Server error"),
}


def _title(status: int) -> str:
    return _(_TITLES[status]) if status in _TITLES else _("Error")


def problem_body(
    *, status: int, detail: str, errors: list[dict[str, str]] | None = None, type_: str = ""
) -> dict[str, Any]:
    """The problem+json document (in the active language)."""
    return {
        "type": type_
        or f"https://khutwa.bh/problems/{_TITLES.get(status, 'error').lower().replace(' ', '-')}",
        "title": _title(status),
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }


def problem(
    api: NinjaAPI,
    request: HttpRequest,
    *,
    status: int,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    type_: str = "",
) -> HttpResponse:
    body = problem_body(status=status, detail=detail, errors=errors, type_=type_)
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM
    return response


def _loc_to_field(loc: Any) -> str:
    """pydantic's error location as the field path of API.md: `lines[0].quantity`."""
    parts: list[str] = []
    for item in loc:
        if not parts and item in _LOCATION_ROOTS:
            continue
        if isinstance(item, int):
            if parts:
                parts[-1] = f"{parts[-1]}[{item}]"
            else:
                parts.append(f"[{item}]")
        else:
            parts.append(str(item))
    return ".".join(parts) or "body"


_LOCATION_ROOTS = {"body", "query", "path", "header", "cookie", "payload", "form", "file"}


def _pydantic_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "too_long":
        return _("Ensure this list has at most %(max)s items.") % {"max": ctx.get("max_length")}
    if kind in ("string_too_long",):
        return _("Ensure this value has at most %(max)s characters.") % {"max": ctx.get("max_length")}
    if kind in ("string_too_short",):
        return _("Ensure this value has at least %(min)s characters.") % {"min": ctx.get("min_length")}
    if kind.startswith("int") or kind.startswith("decimal") or kind.startswith("float"):
        return _("Enter a valid number.")
    if kind.startswith("string"):
        return _("Enter a valid text value.")
    if kind.startswith("bool"):
        return _("Enter true or false.")
    if kind.startswith("date") or kind.startswith("datetime"):
        return _("Enter a valid date.")
    if kind.startswith("list"):
        return _("Enter a list.")
    if kind == "json_invalid":
        return _("The request body is not valid JSON.")
    return _("Enter a valid value.")


def django_validation_errors(exc: DjangoValidationError, prefix: str = "") -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if hasattr(exc, "error_dict"):
        for field, field_errors in exc.message_dict.items():
            name = "body" if field == "__all__" else f"{prefix}{field}"
            errors.extend({"field": name, "message": str(m)} for m in field_errors)
    else:
        errors.extend({"field": prefix.rstrip(".") or "body", "message": str(m)} for m in exc.messages)
    return errors


def invalid_fields(exc: DjangoValidationError, paths: dict[str, str] | None = None) -> ApiProblem:
    """A service's ValidationError as a 422 naming each field (by its API path when mapped)."""
    paths = paths or {}
    errors = [
        {"field": paths.get(name, name), "message": str(message)}
        for name, messages in exc.message_dict.items()
        for message in messages
    ]
    return ApiProblem(422, _("The request has invalid fields."), errors)


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationError)
    def on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {"field": _loc_to_field(e.get("loc", ())), "message": str(_pydantic_message(e))}
            for e in exc.errors
        ]
        return problem(api, request, status=422, detail=_("The request has invalid fields."), errors=errors)

    @api.exception_handler(DjangoValidationError)
    def on_django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return problem(
            api,
            request,
            status=422,
            detail=_("The request has invalid fields."),
            errors=django_validation_errors(exc),
        )

    @api.exception_handler(ApiProblem)
    def on_problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
        return problem(api, request, status=exc.status, detail=exc.detail, errors=exc.errors, type_=exc.type)

    @api.exception_handler(Refused)
    def on_refused(request: HttpRequest, exc: Refused) -> HttpResponse:
        detail = str(exc.message)
        if exc.status == 404:
            detail = _("Not found.")
        errors = [{"field": exc.field, "message": detail}] if exc.field else []
        return problem(api, request, status=exc.status, detail=detail, errors=errors)

    @api.exception_handler(AuthenticationError)
    def on_authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = problem(api, request, status=401, detail=_("Log in or send a valid bearer token."))
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(AuthorizationError)
    def on_authorization(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
        return problem(api, request, status=403, detail=_("You may not do this."))

    @api.exception_handler(PermissionDenied)
    def on_permission(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return problem(api, request, status=403, detail=_("You may not do this."))

    @api.exception_handler(Http404)
    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem(api, request, status=404, detail=_("Not found."))

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return problem(api, request, status=exc.status_code, detail=str(exc.message))

    @api.exception_handler(OverflowError)
    def on_overflow(request: HttpRequest, exc: OverflowError) -> HttpResponse:
        # A path or query number too large for the database: nothing can match it.
        return problem(api, request, status=404, detail=_("Not found."))

    @api.exception_handler(MultiPartParserError)
    def on_bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
        return problem(api, request, status=400, detail=_("The request body could not be read."))

    @api.exception_handler(SuspiciousOperation)
    def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        return problem(api, request, status=400, detail=_("The request body could not be read."))

    @api.exception_handler(Exception)
    def on_exception(request: HttpRequest, exc: Exception) -> HttpResponse:
        import logging

        logging.getLogger("khutwa.api").exception("unhandled API error")
        return problem(
            api,
            request,
            status=500,
            detail=_("Something went wrong on our side; it has been logged."),
        )
