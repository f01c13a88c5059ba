"""Lockout after repeated failed logins, on every login path (portal, admin, API).

django-axes counts failures in its AccessAttempt rows, in the database that every worker and
every node shares. Two limits, counted apart over the cool-off window (KHUTWA_LOCKOUT_MINUTES):

- an account is locked after KHUTWA_LOCKOUT_ACCOUNT_FAILURES failures from any address, so a
  botnet gains nothing by spreading its guesses;
- an address is locked after KHUTWA_LOCKOUT_IP_FAILURES failures for any accounts (higher: a
  ministry office or a household shares one address), so one client cannot spray one password
  over many accounts.

While locked, even the right password is refused, and tries do not extend the lock, so the wait
shown is the real one. A successful login clears that account's own failures, and only them
(axes would also clear every failure recorded from the address, which lets an attacker with an
account of their own reset the count against someone else's).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import ngettext

from khutwa.http import client_address


def _unlocks_at(rows: Iterable[tuple[dt.datetime, int]], limit: int) -> dt.datetime | None:
    """When a counter over `rows` (last failure time, failures) drops below `limit` again.

    Each row leaves the window a cool-off after its last failure; the counter is locked while
    the rows still in the window add up to the limit."""
    ordered = sorted(rows)
    total = sum(count for _time, count in ordered)
    if total < limit:
        return None
    cool_off = settings.AXES_COOLOFF_TIME
    for last, count in ordered:
        total -= count
        if total < limit:
            return last + cool_off
    return None  # pragma: no cover - the loop always ends below the limit


def lockout_wait(*, username: str | None, ip_address: str | None) -> dt.timedelta | None:
    """How long until this account and this address may try again; None if neither is locked."""
    now = timezone.now()
    recent = AccessAttempt.objects.filter(attempt_time__gte=now - settings.AXES_COOLOFF_TIME)
    ends = []
    for lookup, limit in (
        ({"username": username}, settings.KHUTWA_LOCKOUT_ACCOUNT_FAILURES),
        ({"ip_address": ip_address}, settings.KHUTWA_LOCKOUT_IP_FAILURES),
    ):
        rows = recent.filter(**lookup).values_list("attempt_time", "failures_since_start")
        end = _unlocks_at(rows, limit)
        if end is not None:
            ends.append(end)
    if not ends:
        return None
    return max(max(ends) - now, dt.timedelta(seconds=1))


def request_lockout_wait(request: HttpRequest, username: str | None) -> dt.timedelta | None:
    """The wait for a request that django-axes refused (None when it did not)."""
    if not getattr(request, "axes_locked_out", False):
        return None
    wait = lockout_wait(username=username, ip_address=client_address(request))
    return wait or settings.AXES_COOLOFF_TIME


def wait_minutes(wait: dt.timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds() / 60))


def lockout_message(wait: dt.timedelta) -> str:
    """In the active language, with the whole minutes to wait (rounded up)."""
    minutes = wait_minutes(wait)
    return ngettext(
        "Too many failed login attempts. Try again in %(minutes)s minute.",
        "Too many failed login attempts. Try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login pages and the token endpoint already explain the lockout
    in the caller's language; this gives their answer the status 429 and a Retry-After."""
    username = get_client_username(request, credentials) if credentials else None
    wait = lockout_wait(username=username, ip_address=client_address(request)) or settings.AXES_COOLOFF_TIME
    if original_response is None:
        response = HttpResponse(lockout_message(wait), content_type="text/plain; charset=utf-8")
    else:
        response = original_response
    if response.status_code == 200:
        response.status_code = settings.AXES_HTTP_RESPONSE_CODE
    if response.status_code == settings.AXES_HTTP_RESPONSE_CODE:
        response["Retry-After"] = str(math.ceil(wait.total_seconds()))
    return response


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit per account and another per address."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """How near the request is to a lockout, in account failures: the account's count, or
        the address's scaled onto the account limit (it reaches that limit exactly when the
        address reaches its own), whichever is nearer."""
        by_account, by_address = (
            attempts.values_list("failures_since_start", flat=True)
            for attempts in self.get_user_attempts(request, credentials)
        )
        account_limit = settings.KHUTWA_LOCKOUT_ACCOUNT_FAILURES
        scaled = sum(by_address) * account_limit // settings.KHUTWA_LOCKOUT_IP_FAILURES
        return max(sum(by_account), scaled)

    def reset_user_attempts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """After a successful login: forget the account's failures, not the address's."""
        username = get_client_username(request, credentials)
        attempts: QuerySet[AccessAttempt] = AccessAttempt.objects.filter(username=username)
        count, _ = attempts.delete()
        return count
