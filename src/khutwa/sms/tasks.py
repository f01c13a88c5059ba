"""Sending a text message in the background (retried like e-mail)."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from khutwa.jobs.retry import retrying
from khutwa.sms import send_sms, sms_enabled


@task()
@retrying()
def sms_send(to: str, text: str) -> None:
    send_sms(to, text)


def sms_on_commit(*, to: str, text: str) -> None:
    """Send after the transaction commits (nothing for a write that rolls back)."""
    if not to or not sms_enabled():
        return
    transaction.on_commit(lambda: sms_send.enqueue(to, text))
