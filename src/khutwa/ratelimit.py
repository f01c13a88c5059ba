"""Rate limits per purpose, counted in the shared cache (the database cache unless configured
otherwise), so that every worker and every machine sees the same counts.

A purpose is what is being limited — checking documents, checking licences, tracking
applications, checking uploaded PDFs — and has a bucket of its own: verifying many documents
does not use up the same address's tracking or logging in. A page and its API twin (the
verification page and `GET /api/v1/verify/<id>`) count in the same bucket.

Counts are kept per fixed window and read as a sliding window (the previous window's count
weighs by how much of it still overlaps), so a client cannot double its rate at a window's
edge. Over Redis (a cluster) a count is one atomic INCR: however many workers and nodes serve a
burst, no more than the rate gets through.

Over the database cache (one machine) a write is a transaction (a culling COUNT(*), a read and
an update), so it is not made on every request. Each process keeps, per purpose and client, the
shared counts it last read and the attempts it let through since ("pending"), and decides on
their sum. It writes its pending attempts to the shared count, and reads the shared counts
again, when they reach a batch (`batch_of`: 1/32 of the rate, at most 100; 1 for a rate under
64 a window, which is then written at every attempt) or when its last reading is a second old
(`FLUSH_SECONDS`), whichever comes first, and when the window changes. The read and the write
are one transaction under a lock on the count (PostgreSQL: an advisory lock on the key; SQLite:
the write lock its IMMEDIATE transactions take), so no two processes' writes overwrite each
other. A refusal needs no reading: the counts only grow within a window, so a stale reading
refuses no one wrongly.

The overshoot bound: within a window, with P processes (gunicorn workers) and a batch of b,
each process lets through at most b − 1 attempts that no other process has seen, so a client
gets at most (P + 1) × b attempts beyond its rate (120/m: b = 3; 4 workers: 15 over 120). A
process that stops receiving a client's attempts keeps fewer than b of them unwritten; they
count in its own decisions only.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router, transaction
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from khutwa.config.routers import on_primary
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
#: Over the database cache: a process writes its pending attempts at least this often (seconds).
FLUSH_SECONDS = 1.0
#: A batch is at most this share of the rate (its inverse), and at most `BATCH_MAX` attempts.
BATCH_SHARE = 32
BATCH_MAX = 100


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


def batch_of(rate: Rate) -> int:
    """How many attempts a process lets through before writing them (the database cache)."""
    return max(1, min(BATCH_MAX, rate.count // BATCH_SHARE))


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


@dataclass
class _Seen:
    """A process's view of one count (the database cache): the shared counts of the window and
    of the one before as last read, and the attempts let through here since."""

    current: str
    shared: int
    previous: int
    pending: int
    read_at: float


class Counter:
    """The counts of one process over the database cache (`counter` is this process's; a test
    makes a second one to play another process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, _Seen] = {}

    def take(self, purpose: str, key: str, *, check: bool = True) -> bool:
        """Count one attempt (`check`: only if within the rate) and say whether it was within."""
        rate = rate_of(purpose)
        now = _clock()
        current, previous, elapsed = _keys(purpose, key, rate, now)
        batch = batch_of(rate)
        with self._lock:
            seen = self._seen.get(cache.make_key(current))
            if seen is not None and seen.current == current:
                over = seen.shared + seen.pending + seen.previous * (1 - elapsed) >= rate.count
                if check and over:
                    return False  # the counts only grow within a window: no need to read them
                if seen.pending + 1 < batch and now - seen.read_at < FLUSH_SECONDS:
                    seen.pending += 1
                    return not over
                pending, seen.pending = seen.pending, 0
                late = None
            else:  # a new window: what is pending in the one before goes to its count
                pending = 0
                late = self._seen.pop(cache.make_key(previous), None)
        try:
            allowed, shared, earlier = self._write(
                rate, (current, pending), (previous, late.pending if late else 0), elapsed, check
            )
        except BaseException:
            with self._lock:  # not written: still pending here
                seen = self._seen.get(cache.make_key(current))
                if seen is not None:
                    seen.pending += pending
                if late is not None:
                    self._seen[cache.make_key(previous)] = late
            raise
        with self._lock:
            self._forget(now, rate)
            self._seen[cache.make_key(current)] = _Seen(current, shared, earlier, 0, now)
        return allowed

    def exhausted(self, purpose: str, key: str) -> bool:
        rate, current, _count, weighted = _state(purpose, key)
        with self._lock:
            seen = self._seen.get(cache.make_key(current))
            pending = seen.pending if seen is not None and seen.current == current else 0
        return weighted + pending >= rate.count

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def _forget(self, now: float, rate: Rate) -> None:
        """Keep the views of counts read in the last two windows only (held under the lock)."""
        if len(self._seen) > 10_000:
            horizon = now - 2 * rate.seconds
            self._seen = {k: v for k, v in self._seen.items() if v.pending or v.read_at > horizon}

    @staticmethod
    def _write(
        rate: Rate, now: tuple[str, int], before: tuple[str, int], elapsed: float, check: bool
    ) -> tuple[bool, int, int]:
        """Read the shared counts of this window and the one before, add what is pending to
        each (`now`, `before`: the key and the attempts pending) and this attempt (if within
        the rate), under a lock on the count: (within the rate, the count now, the count
        before)."""
        (current, pending), (previous, late) = now, before
        db = router.db_for_write(cache.cache_model_class)  # type: ignore[attr-defined]
        connection = connections[db]
        with on_primary(), transaction.atomic(using=db):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [cache.make_key(current)])
            counts = cache.get_many([current, previous])
            count = int(counts.get(current, 0)) + pending
            earlier = int(counts.get(previous, 0)) + late
            if late:
                cache.set(previous, earlier, rate.seconds + 1)
            allowed = count + earlier * (1 - elapsed) < rate.count
            counted = allowed or not check
            count += counted
            if pending or counted:
                # Kept for two windows: it is the previous window for the whole of the next one.
                cache.set(current, count, 2 * rate.seconds + 1)
        return allowed, count, earlier


#: This process's counts over the database cache.
counter = Counter()


def exhausted(purpose: str, key: str) -> bool:
    """Whether `key` has used up its rate for `purpose` (nothing is counted)."""
    if _atomic():
        rate, _current, _count, weighted = _state(purpose, key)
        return weighted >= rate.count
    return counter.exhausted(purpose, key)


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
    counter.take(purpose, key, check=False)


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
    return counter.take(purpose, key)


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
