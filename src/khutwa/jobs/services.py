"""Writes of the background machinery: dead letters, their replay, recovery of lost tasks."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import normalize_json
from django_tasks_db.models import DBTaskResult, get_date_max

from khutwa.audit.services import audit_record
from khutwa.errors import Refused
from khutwa.jobs.models import DeadLetter, ScheduledRun
from khutwa.prebuilt import insert_values

logger = logging.getLogger(__name__)

#: A task whose worker was lost this many times is not tried again: it becomes a dead letter
#: (a task that kills its worker, by memory for instance, would otherwise loop for ever).
MAX_LOST_WORKERS = 5


_TASK_ROW = (
    "id",
    "status",
    "enqueued_at",
    "args_kwargs",
    "priority",
    "task_path",
    "worker_ids",
    "queue_name",
    "backend_name",
    "run_after",
    "exception_class_path",
    "traceback",
)


def task_enqueue_with_transaction(task: Task[Any, Any], *args: Any) -> None:
    """Queue `task(*args)` as part of the caller's transaction: with the database backend, its
    row is written by one prebuilt INSERT in that transaction, so that workers see it exactly
    when the caller's work commits (and never if it rolls back), as `enqueue` on commit would
    have it but without a transaction of its own. Another backend (`immediate`) is enqueued
    once the transaction commits, as before."""
    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        transaction.on_commit(partial(task.enqueue, *args))
        return
    backend.validate_task(task)
    insert_values(
        DBTaskResult,
        _TASK_ROW,
        [
            [
                backend._get_id(),
                TaskResultStatus.READY,
                timezone.now(),
                normalize_json({"args": list(args), "kwargs": {}}),
                task.priority,
                task.module_path,
                [],
                task.queue_name,
                backend.alias,
                task.run_after or get_date_max(),
                "",
                "",
            ]
        ],
    )


def dead_letter_record(
    *,
    task_path: str,
    args: list[Any],
    kwargs: dict[str, Any],
    attempts: int,
    error: str,
    first_failed_at: dt.datetime,
    last_failed_at: dt.datetime,
) -> DeadLetter:
    with transaction.atomic():
        letter = DeadLetter.objects.create(
            task_path=task_path,
            args_kwargs={"args": args, "kwargs": kwargs},
            attempts=attempts,
            last_error=error[-20000:],
            first_failed_at=first_failed_at,
            last_failed_at=last_failed_at,
        )
        audit_record(
            actor=None,
            action="jobs.task.dead",
            obj=letter,
            after={"task": task_path, "attempts": attempts},
        )
    return letter


def dead_letter_replay(*, actor: Any, letter: DeadLetter) -> str:
    """Enqueue the task again with its arguments, its attempts counted afresh; returns the new
    task result's id. Once per dead letter (a second replay would run it twice)."""
    with transaction.atomic():
        locked = DeadLetter.objects.select_for_update().get(pk=letter.pk)
        if locked.replayed_at is not None:
            raise Refused(_("This task was already run again."), field="replayed_at")
        try:
            task = import_string(locked.task_path)
        except ImportError:
            raise Refused(
                _("The task %(task)s no longer exists.") % {"task": locked.task_path}, field="task_path"
            ) from None
        result = task.enqueue(*locked.args_kwargs.get("args", []), **locked.args_kwargs.get("kwargs", {}))
        locked.replayed_at = timezone.now()
        locked.save(update_fields=["replayed_at"])
        audit_record(
            actor=actor,
            action="jobs.task.replay",
            obj=locked,
            after={"task": locked.task_path, "task_result": str(result.id)},
        )
    letter.refresh_from_db()
    return str(result.id)


def tasks_recover_stalled(*, now: dt.datetime | None = None) -> int:
    """Tasks RUNNING for longer than KHUTWA_TASK_STALL_SECONDS lost their worker (django-tasks-db
    leaves them RUNNING for ever): make them READY again so that a worker runs them again, or,
    lost MAX_LOST_WORKERS times, record them as dead letters. Returns how many were recovered."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.KHUTWA_TASK_STALL_SECONDS)
    stalled = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
    recovered = 0
    for pk in stalled.values_list("pk", flat=True):
        with transaction.atomic():
            row = (
                DBTaskResult.objects.select_for_update()
                .filter(pk=pk, status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
                .first()
            )
            if row is None:  # finished meanwhile
                continue
            if len(row.worker_ids) >= MAX_LOST_WORKERS:
                row.status = TaskResultStatus.FAILED
                row.finished_at = now
                row.exception_class_path = "khutwa.jobs.services.WorkerLost"
                row.traceback = f"worker lost {len(row.worker_ids)} times"
                row.save(update_fields=["status", "finished_at", "exception_class_path", "traceback"])
                args_kwargs = row.args_kwargs
                kwargs = {k: v for k, v in args_kwargs.get("kwargs", {}).items() if not k.startswith("_")}
                dead_letter_record(
                    task_path=row.task_path,
                    args=args_kwargs.get("args", []),
                    kwargs=kwargs,
                    attempts=len(row.worker_ids),
                    error=row.traceback,
                    first_failed_at=row.started_at or now,
                    last_failed_at=now,
                )
                logger.error("task %s (%s) lost its worker too often: dead letter", row.task_path, pk)
                continue
            row.status = TaskResultStatus.READY
            row.started_at = None
            row.save(update_fields=["status", "started_at"])
            recovered += 1
            logger.warning("task %s (%s) had stalled: ready again", row.task_path, pk)
    return recovered


def tasks_prune(*, now: dt.datetime | None = None, days: int = 14) -> int:
    """Forget finished task results and scheduled runs older than `days` (dead letters stay)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=days)
    finished = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=cutoff
    )
    count, _ = finished.delete()
    runs, _ = ScheduledRun.objects.filter(slot__lt=cutoff).delete()
    return count + runs
