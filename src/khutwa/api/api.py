"""The Khutwa API, version 1. One router per domain; operations stay thin."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import NinjaAPI, Router
from ninja.throttling import AnonRateThrottle

from khutwa.accounts.authentication import credentials_check
from khutwa.accounts.services import api_token_issue, api_token_revoke
from khutwa.api import contact as contact_api
from khutwa.api import documents as documents_api
from khutwa.api import errors
from khutwa.api import licensing as licensing_api
from khutwa.api import log_witness as log_witness_api
from khutwa.api import notifications as notifications_api
from khutwa.api import statistics as statistics_api
from khutwa.api import support as support_api
from khutwa.api import tlog as tlog_api
from khutwa.api import webhooks as webhooks_api
from khutwa.api.auth import AUTH, bearer
from khutwa.api.catalogue import router as catalogue_router
from khutwa.api.schemas import MeOut, Problem, TokenIn, TokenOut
from khutwa.licensing.selectors import active_licence_of

api = NinjaAPI(
    title="Khutwa API",
    version="1.0.0",
    description=(
        "Work-from-home licences, official documents and Tamkeen support. "
        "Authenticate with POST /api/v1/auth/token, then send `Authorization: Bearer <token>`. "
        "Errors are application/problem+json."
    ),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)

auth_router = Router(tags=["auth"])


@auth_router.post(
    "/token",
    response={200: TokenOut, 401: Problem, 403: Problem, 422: Problem, 429: Problem},
    auth=None,
    throttle=[AnonRateThrottle("30/m")],
    summary="Exchange a username and password (and a staff account's TOTP code) for a bearer token",
    description=(
        "Failed attempts count towards the same lockout as the login pages (per account and per "
        "address): while locked, 429 with the minutes to wait and Retry-After. Staff accounts "
        "also send `otp`, the code of the authenticator app set up in the portal."
    ),
)
def token(request: HttpRequest, payload: TokenIn) -> TokenOut:
    user = credentials_check(request, username=payload.username, password=payload.password, otp=payload.otp)
    raw, record = api_token_issue(user=user)
    return TokenOut(token=raw, expires_at=record.expires_at)


@auth_router.post(
    "/logout",
    response={204: None, 401: Problem},
    auth=[bearer],
    summary="Revoke the bearer token of this request",
)
def logout(request: HttpRequest) -> tuple[int, None]:
    api_token_revoke(token=request.api_token, actor=request.user)  # type: ignore[attr-defined,arg-type]
    return 204, None


@api.get("/me", response={200: MeOut, 401: Problem}, auth=AUTH, tags=["auth"], summary="Who am I")
def me(request: HttpRequest) -> MeOut:
    user = request.user
    body = user.body.code if user.body_id else None  # type: ignore[union-attr]
    return MeOut(
        username=user.username,
        roles=sorted(user.role_names()),  # type: ignore[union-attr]
        licence=licence.number if (licence := active_licence_of(user)) else None,
        body=body,
    )


# Django tries URL patterns in order and ninja makes them in the order of these lines: the public
# verification, the API's busiest call (every QR code scanned), comes first instead of after about
# sixty others (0.2 ms of URL matching a request, measured in session 24 of issue 14).
api.add_router("/verify", documents_api.verify_router)
api.add_router("/auth", auth_router)
api.add_router("/me/notifications", notifications_api.router)
api.add_router("/me/contact", contact_api.router)
api.add_router("/catalogue", catalogue_router)
api.add_router("/applications/track", licensing_api.track_router)
api.add_router("/applications", licensing_api.router)
api.add_router("/reviews", licensing_api.reviews_router)
api.add_router("/licences", licensing_api.licences_router)
api.add_router("", documents_api.router)
api.add_router("/support", support_api.router)
api.add_router("/webhooks", webhooks_api.router)
api.add_router("/statistics", statistics_api.router)
api.add_router("/log", tlog_api.router)
api.add_router("/log", log_witness_api.router)
