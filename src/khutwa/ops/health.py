"""Liveness (/healthz: the process answers and reaches its database) and readiness (/readyz: the
database, the shared cache, and a task queue that keeps up), for load balancers and monitors."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@dataclass(frozen=True)
class TaskQueue:
    ready: int  # due (run_after passed or none) and not yet started
    running: int
    oldest_seconds: float  # age of the oldest due task; 0 when none


def task_queue(now: dt.datetime | None = None) -> TaskQueue:
    """The database task backend's queue: what waits (khutwa.jobs' lag) and what runs."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from khutwa.jobs.selectors import queue_lag

    lag = queue_lag(now=now)
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count()
    return TaskQueue(ready=lag.waiting, running=running, oldest_seconds=lag.seconds)


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return False
    return True


def _cache() -> bool:
    key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache.set(key, value, timeout=10)
        ok = cache.get(key) == value
        cache.delete(key)
    except Exception:
        return False
    return bool(ok)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers and its database answers."""
    if not _database():
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: database, cache, and the oldest due task younger than
    KHUTWA_READY_TASK_LAG seconds (workers are keeping up)."""
    checks: dict[str, object] = {"database": "ok" if _database() else "unavailable"}
    checks["cache"] = "ok" if _cache() else "unavailable"
    ok = checks["database"] == "ok" and checks["cache"] == "ok"
    if checks["database"] == "ok":
        try:
            queue = task_queue()
        except Exception:
            checks["tasks"] = "unavailable"
            ok = False
        else:
            lagging = queue.oldest_seconds > settings.KHUTWA_READY_TASK_LAG
            checks["tasks"] = {
                "status": "lagging" if lagging else "ok",
                "ready": queue.ready,
                "oldest_seconds": round(queue.oldest_seconds, 1),
            }
            ok = ok and not lagging
    return JsonResponse({"status": "ok" if ok else "error", **checks}, status=200 if ok else 503)
