"""What `khutwa scheduler` starts, and when (times in Asia/Bahrain, the site's TIME_ZONE).

Each entry names a django-tasks Task by its dotted path. Daily jobs run once a day at their
time (a scheduler started later that day, or the next day before that time, still runs the
latest slot once: the jobs are idempotent); periodic jobs every `every_minutes`. Several
schedulers may run: each slot is claimed once (jobs.models.ScheduledRun). `inline` jobs are run
by the scheduler itself rather than enqueued (recovering lost tasks must not wait for a worker).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    task: str
    at: dt.time | None = None  # daily, at this local time
    every_minutes: int | None = None  # or periodically
    inline: bool = False

    def __post_init__(self) -> None:
        if (self.at is None) == (self.every_minutes is None):
            raise ValueError(f"job {self.name}: give either `at` or `every_minutes`")


JOBS: list[Job] = [
    Job("expire_licences", "khutwa.licensing.tasks.licences_expire_daily", at=dt.time(0, 5)),
    Job("expire_support", "khutwa.support.tasks.support_expire_daily", at=dt.time(0, 10)),
    Job("prune_tasks", "khutwa.jobs.tasks.tasks_prune_daily", at=dt.time(3, 0)),
    Job("review_reminders", "khutwa.approvals.tasks.reviews_remind_daily", at=dt.time(7, 0)),
    Job("licence_reminders", "khutwa.notifications.tasks.licence_reminders_daily", at=dt.time(7, 0)),
    Job("recover_stalled_tasks", "khutwa.jobs.tasks.tasks_recover", every_minutes=1, inline=True),
    # Webhook deliveries whose next attempt has come (their retries over 24 hours):
    Job("webhooks_deliver_due", "khutwa.webhooks.tasks.deliveries_due", every_minutes=1),
    # The public statistics recomputed before their cache (KHUTWA_STATISTICS_CACHE_SECONDS,
    # 300 by default) expires, so that no visitor computes them:
    Job("statistics_refresh", "khutwa.statistics.tasks.statistics_refresh_periodic", every_minutes=4),
]
