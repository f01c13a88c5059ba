"""Rate limits per purpose, counted in the shared cache (the database cache unless configured
otherwise), so that every worker and every machine sees the same counts.

A purpose is what is being limited — checking documents, checking licences, tracking
applications, checking uploaded PDFs — and has a bucket of its own: verifying many documents
does not use up the same address's tracking or logging in. A page and its API twin (the
verification page and `GET /api/v1/verify/<id>`) count in the same bucket.

Counts are kept per fixed window and read as a sliding window (the previous window's count
weighs by how much of it still overlaps), so a client cannot double its rate at a window's
edge. Over Redis (a cluster) a count is one atomic INCR: however many workers and nodes serve a
burst, no more than the rate gets through. Over the database cache (one machine) reading and
writing a count are two cache calls: under a burst of parallel requests from one client a count
can lag by the number of requests in flight (bounded by the number of workers), never more.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from khutwa.http import client_address
from khutwa.ops.cache import cache_errors

logger = logging.getLogger(__name__)

#: Each purpose and the setting that holds its rate ("count/period", e.g. "120/m", "10/10m").
PURPOSES = {
    "verify": "KHUTWA_PUBLIC_RATE",  # document verification: /verify/<id> and its API
    "licence": "KHUTWA_PUBLIC_RATE",  # the public licence check: /licences/<ref> and its API
    "track": "KHUTWA_TRACK_RATE",  # tracking attempts per client
    "track-reference": "KHUTWA_TRACK_REFERENCE_RATE",  # failed tracking attempts per reference
    "pdf-check": "KHUTWA_PDF_CHECK_RATE",  # uploaded PDFs checked per client
    "tsa": "KHUTWA_PUBLIC_RATE",  # time-stamp requests to the platform's TSA (POST /tsa)
    "phone-code": "KHUTWA_PHONE_CODE_RATE",  # mobile confirmation codes sent per account
    "signup": "KHUTWA_SIGNUP_RATE",  # sign-ups per client
    "log": "KHUTWA_PUBLIC_RATE",  # the public transparency log's checkpoint, proofs and entries
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_clock = time.time  # the windows' clock (tests move it; the cache's expiry keeps real time)


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@functools.cache
def parse_rate(text: str) -> Rate:
    """ "120/m" → 120 per 60 s; "10/10m" → 10 per 600 s; "20/h", "1000/d", "5/30s"."""
    try:
        count, period = text.strip().split("/", 1)
        unit = period[-1:]
        multiple = int(period[:-1]) if period[:-1] else 1
        rate = Rate(int(count), multiple * _UNITS[unit])
    except (ValueError, KeyError):
        raise ValueError(f"a rate is count/period with a period in s, m, h or d, got {text!r}") from None
    if rate.count < 1 or rate.seconds < 1:
        raise ValueError(f"a rate needs a count and a period of at least 1, got {text!r}")
    return rate


def rate_of(purpose: str) -> Rate:
    return parse_rate(str(getattr(settings, PURPOSES[purpose])))


def client_of(request: HttpRequest) -> str:
    """The client (`khutwa.http.client_address`) as counted: an IPv6 client by its /64 network
    (one subscriber holds a whole /64 and could otherwise take a fresh address per request)."""
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


def _keys(purpose: str, key: str, rate: Rate, now: float) -> tuple[str, str, float]:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    window, offset = divmod(now, rate.seconds)
    current = f"rl:{purpose}:{int(window)}:{digest}"
    previous = f"rl:{purpose}:{int(window) - 1}:{digest}"
    return current, previous, offset / rate.seconds


def _state(purpose: str, key: str) -> tuple[Rate, str, int, float]:
    rate = rate_of(purpose)
    current, previous, elapsed = _keys(purpose, key, rate, _clock())
    counts = cache.get_many([current, previous])
    count = int(counts.get(current, 0))
    weighted = count + int(counts.get(previous, 0)) * (1 - elapsed)
    return rate, current, count, weighted


def _atomic() -> bool:
    return isinstance(caches["default"], RedisCache)


def _increment(current: str, rate: Rate) -> int:
    """The count after adding one, atomically (Redis INCR; the key lives two windows)."""
    if cache.add(current, 1, 2 * rate.seconds + 1):
        return 1
    try:
        return int(cache.incr(current))
    except ValueError:  # it expired between the two calls
        cache.add(current, 1, 2 * rate.seconds + 1)
        return 1


def exhausted(purpose: str, key: str) -> bool:
    """Whether `key` has used up its rate for `purpose` (nothing is counted)."""
    rate, _current, _count, weighted = _state(purpose, key)
    return weighted >= rate.count


def hit(purpose: str, key: str) -> None:
    """Count one attempt of `key` for `purpose`."""
    try:
        _hit(purpose, key)
    except cache_errors():
        _unavailable(purpose)


def _hit(purpose: str, key: str) -> None:
    if _atomic():
        rate = rate_of(purpose)
        _increment(_keys(purpose, key, rate, _clock())[0], rate)
        return
    rate, current, count, _weighted = _state(purpose, key)
    # Kept for two windows: it is the previous window for the whole of the next one.
    cache.set(current, count + 1, 2 * rate.seconds + 1)


def _unavailable(purpose: str) -> None:
    logger.warning("rate limit not counted: the shared cache is unavailable", extra={"purpose": purpose})


def allow(purpose: str, key: str) -> bool:
    """Count this attempt and say whether it is within the rate (a refused attempt is not
    counted, so a client that waits gets through again). With the shared cache away (Redis
    restarting) the attempt is let through and the log says so: a public service stays up."""
    try:
        return _allow(purpose, key)
    except cache_errors():
        _unavailable(purpose)
        return True


def _allow(purpose: str, key: str) -> bool:
    if _atomic():
        rate = rate_of(purpose)
        current, previous, elapsed = _keys(purpose, key, rate, _clock())
        earlier = int(cache.get(previous, 0)) * (1 - elapsed)
        if _increment(current, rate) + earlier > rate.count:
            with contextlib.suppress(ValueError):
                cache.decr(current)
            return False
        return True
    rate, current, count, weighted = _state(purpose, key)
    if weighted >= rate.count:
        return False
    cache.set(current, count + 1, 2 * rate.seconds + 1)
    return True


def retry_after(purpose: str) -> int:
    """Seconds a refused client is told to wait (one window at most)."""
    return rate_of(purpose).seconds


class PurposeThrottle(BaseThrottle):
    """django-ninja's throttle on a purpose's bucket, keyed on the client's address, for every
    caller (signed in or not)."""

    def __init__(self, purpose: str) -> None:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown rate-limit purpose {purpose!r}")
        self.purpose = purpose

    def allow_request(self, request: HttpRequest) -> bool:
        return allow(self.purpose, client_of(request))

    def wait(self) -> float | None:
        return float(retry_after(self.purpose))
