"""Background work: tasks through Django's tasks interface (django-tasks, the database backend of
django-tasks-db), retries with backoff and dead letters on top (`retry.py`), recovery of tasks
whose worker was lost, `khutwa worker` and `khutwa scheduler` (docs/background-work.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from khutwa.jobs.selectors import QueueLag


def queue_lag() -> QueueLag:
    """Age in seconds of the oldest task waiting to run (READY, its run_after passed), 0 if none,
    and how many wait: the input of /readyz and /metrics."""
    from khutwa.jobs.selectors import queue_lag as _queue_lag

    return _queue_lag()
