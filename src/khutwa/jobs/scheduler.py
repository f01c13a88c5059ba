"""The scheduler's tick: which slot each job is due for, and claiming it once across every
scheduler (a ScheduledRun row per job and slot, unique, inserted in the transaction that
enqueues the task: both happen or neither)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from khutwa.jobs.models import ScheduledRun
from khutwa.jobs.schedule import JOBS, Job

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    job: str
    slot: dt.datetime
    task_id: str


def slot_of(job: Job, now: dt.datetime) -> dt.datetime:
    """The latest slot of `job` at or before `now`, in local time (Asia/Bahrain)."""
    local = timezone.localtime(now)
    if job.at is not None:
        slot = local.replace(hour=job.at.hour, minute=job.at.minute, second=0, microsecond=0)
        if slot > local:
            slot -= dt.timedelta(days=1)
        return slot
    assert job.every_minutes is not None  # noqa: S101 - Job checks it
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    minutes = int((local - midnight).total_seconds() // 60)
    return midnight + dt.timedelta(minutes=minutes - minutes % job.every_minutes)


def run_claim(job: Job, slot: dt.datetime, now: dt.datetime) -> Claimed | None:
    """Claim (job, slot) and enqueue its task, together; None when another scheduler has it."""
    task = import_string(job.task)
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, slot=slot, claimed_at=now)
        except IntegrityError:
            return None
        if job.inline:
            task_id = ""
        else:
            task_id = str(task.enqueue().id)
            run.task_id = task_id
            run.save(update_fields=["task_id"])
    if job.inline:
        task.call()
    logger.debug("scheduled %s for %s", job.name, slot.isoformat())
    return Claimed(job=job.name, slot=slot, task_id=task_id)


def scheduler_tick(*, now: dt.datetime | None = None, jobs: list[Job] | None = None) -> list[Claimed]:
    """One look at the schedule: start every job whose latest slot nobody has claimed yet."""
    now = now or timezone.now()
    claimed = []
    for job in JOBS if jobs is None else jobs:
        slot = slot_of(job, now)
        if ScheduledRun.objects.filter(job=job.name, slot=slot).exists():
            continue
        run = run_claim(job, slot, now)
        if run is not None:
            claimed.append(run)
    return claimed
