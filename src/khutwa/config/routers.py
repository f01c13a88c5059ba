"""Reads of the public pages from a read replica (DATABASE_REPLICA_URL; docs/deployment.md).

Only what is marked ``replica_read`` reads from the replica: public document verification
(the page and ``GET /api/v1/verify/<id>``) and the public licence check (the page and
``GET /api/v1/licences/<number>``), and the public statistics (the page and
``GET /api/v1/statistics``). Everything else,
every write, and every read by a client that has just written (the ``khutwa_primary`` cookie,
set for a few seconds on any request that is not GET, HEAD or OPTIONS, ``PrimaryPinMiddleware``)
goes to the primary. When the replica cannot be reached, the marked read is answered from the
primary instead, and the replica is left alone for a few seconds. Without a replica this module
changes nothing: the router then sends everything to ``default``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.utils.connection import ConnectionDoesNotExist

REPLICA = "replica"
PIN_COOKIE = "khutwa_primary"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

log = logging.getLogger(__name__)

#: Whether this request's reads go to the replica (set by ``replica_read`` only).
_on_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("khutwa_on_replica", default=False)
#: Until when (time.monotonic()) this process leaves an unreachable replica alone.
_replica_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def reads_from_replica() -> bool:
    """Where this request's reads go now: True for the replica."""
    return _on_replica.get()


class ReplicaRouter:
    """Reads go to the replica only inside ``replica_read``; writes and migrations to default."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return REPLICA if _on_replica.get() and replica_configured() else "default"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica is a copy of default: the same rows

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == "default"


def replica_usable() -> bool:
    """A replica is configured and was not found unreachable in the last few seconds."""
    return replica_configured() and time.monotonic() >= _replica_down_until


def replica_mark_down() -> None:
    """The replica did not answer: use the primary for KHUTWA_REPLICA_RETRY_SECONDS."""
    global _replica_down_until
    _replica_down_until = time.monotonic() + settings.KHUTWA_REPLICA_RETRY_SECONDS
    with contextlib.suppress(DatabaseError, ConnectionDoesNotExist):  # a broken one may fail to close
        connections[REPLICA].close()


def pinned_to_primary(request: HttpRequest) -> bool:
    """This client wrote a moment ago (its own reads must see its write) or is writing now."""
    return request.method not in SAFE_METHODS or PIN_COOKIE in request.COOKIES


@contextmanager
def on_replica() -> Iterator[None]:
    """Reads inside go to the replica (when one is configured)."""
    token = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(token)


@contextmanager
def on_primary() -> Iterator[None]:
    """Reads inside go to the primary, even within ``on_replica`` (a read that must see the
    latest writes, such as a rate limit's count before it is written)."""
    token = _on_replica.set(False)
    try:
        yield
    finally:
        _on_replica.reset(token)


def replica_read(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run a public read view on the replica, or on the primary when the client is pinned to it
    or the replica is unreachable (then the view runs again, on the primary: it only reads)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not replica_usable() or pinned_to_primary(request):
            return view(request, *args, **kwargs)
        try:
            with on_replica():
                return view(request, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            log.warning("replica unreachable, reading from the primary: %s", exc.__class__.__name__)
            replica_mark_down()
        return view(request, *args, **kwargs)

    return wrapper


class PrimaryPinMiddleware:
    """After a request that may write, the client's reads go to the primary for
    KHUTWA_REPLICA_PIN_SECONDS (so that it sees what it wrote, replication lag or not)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and replica_configured():
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.KHUTWA_REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
