"""Tasks of the background machinery itself: e-mail, recovery of lost tasks, pruning."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django_tasks import task

from khutwa.jobs.retry import retrying


@task()
@retrying()
def email_send(subject: str, body: str, recipients: list[str]) -> int:
    """Send one message, composed when it was enqueued. Delivery failures raise (and so are
    retried): at least once, so a crash right after the SMTP server accepted it may send it twice."""
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)


@task()
def tasks_recover() -> int:
    from khutwa.jobs.services import tasks_recover_stalled

    return tasks_recover_stalled()


@task()
@retrying()
def tasks_prune_daily() -> int:
    from khutwa.jobs.services import tasks_prune

    return tasks_prune()
