"""Reads of the task queue: its lag (for /readyz and /metrics) and dead letters."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.db.models import Min
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max


class QueueLag(NamedTuple):
    seconds: float  # age of the oldest task waiting to run; 0 when none waits
    waiting: int  # tasks waiting to run (READY, their run_after passed)


def queue_lag(*, now: dt.datetime | None = None) -> QueueLag:
    """A task waits from its run_after when it has one (a retry, a deferred task), else from
    when it was enqueued. Two indexed aggregates over READY rows."""
    now = now or timezone.now()
    ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    oldest_enqueued = ready.filter(run_after=get_date_max()).aggregate(oldest=Min("enqueued_at"))["oldest"]
    due = ready.filter(run_after__lte=now)
    oldest_due = due.aggregate(oldest=Min("run_after"))["oldest"]
    count = ready.filter(run_after=get_date_max()).count() + due.count()
    starts = [t for t in (oldest_enqueued, oldest_due) if t is not None]
    if not starts:
        return QueueLag(0.0, count)
    return QueueLag(max(0.0, (now - min(starts)).total_seconds()), count)
