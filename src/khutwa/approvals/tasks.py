"""Background work of the approving bodies' reviews."""

from __future__ import annotations

from django_tasks import task

from khutwa.jobs.retry import retrying


@task()
@retrying()
def reviews_remind_daily() -> list[int]:
    """The daily reminders (as `khutwa review-reminders`); each reminder is sent once per review."""
    from khutwa.approvals.services import reminders_send

    before, overdue = reminders_send()
    return [before, overdue]
