"""E-mail after the transaction commits, through the `email_send` task (nothing is sent for a
write that rolls back, and the request does not wait for the SMTP server)."""

from __future__ import annotations

from django.db import transaction


def email_on_commit(*, subject: str, body: str, recipients: list[str]) -> None:
    recipients = [r for r in recipients if r]
    if not recipients:
        return
    from khutwa.jobs.tasks import email_send

    transaction.on_commit(lambda: email_send.enqueue(subject, body, recipients))
