"""Background work of notifications (the messages themselves go through jobs.tasks.email_send and
sms.tasks.sms_send)."""

from __future__ import annotations

from django_tasks import task

from khutwa.jobs.retry import retrying


@task()
@retrying()
def licence_reminders_daily() -> int:
    """The daily licence expiry reminders (30 and 7 days before); each is sent once."""
    from khutwa.notifications.services import licence_expiry_reminders_send

    return licence_expiry_reminders_send()
