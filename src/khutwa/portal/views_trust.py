"""The platform's public trust services: its RFC 3161 time-stamping authority and its CA's CRLs.

POST /tsa                               application/timestamp-query → application/timestamp-reply
GET  /.well-known/khutwa-ca.crl         the current root CA's CRL (DER)
GET  /.well-known/khutwa-ca-<id>.crl    any root's CRL, by the id its certificates name
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from khutwa.documents.signing import key_store, timestamp_authority
from khutwa.ratelimit import allow, client_of
from khutwa.trust.keys import KeyStoreError
from khutwa.trust.tsa import MAX_REQUEST_BYTES, system_failure

logger = logging.getLogger(__name__)

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_POST
def tsa(request: HttpRequest) -> HttpResponse:
    """RFC 3161 over HTTP (§3.4): one DER TimeStampReq in, one DER TimeStampResp out — a token,
    or a rejection that says why. A body that is not a time-stamp query at all is refused
    with 400 (wrong type), 413 (too large) or 429 (too many from one client)."""
    if not allow("tsa", client_of(request)):
        return _plain(429, "Too many time-stamp requests; try again later.")
    if request.content_type != QUERY_TYPE:
        return _plain(400, f"Send a DER TimeStampReq as {QUERY_TYPE}.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _plain(400, "Bad Content-Length.")
    if length > MAX_REQUEST_BYTES:
        return _plain(413, f"A time-stamp query is at most {MAX_REQUEST_BYTES} bytes.")
    body = request.read(MAX_REQUEST_BYTES + 1)
    try:
        reply, status = timestamp_authority().respond(body), 200
    except KeyStoreError:
        logger.exception("the time-stamping authority's key or certificate cannot be used")
        reply, status = system_failure(), 503
    response = HttpResponse(reply, status=status, content_type=REPLY_TYPE)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@cache_control(public=True, max_age=3600)
def crl(request: HttpRequest, ca: str | None = None) -> HttpResponse:
    """A root CA's certificate revocation list (DER), re-issued first when it is due."""
    try:
        data = key_store().crl(ca)
    except KeyStoreError as exc:
        if ca is not None and "no root CA" in str(exc):
            return _plain(404, "No such certificate authority.")
        logger.exception("the CRL cannot be issued")
        return _plain(503, "The certificate revocation list is not available.")
    return HttpResponse(data, content_type="application/pkix-crl")
