"""E-mail after the transaction commits, through the `email_send` task (nothing is sent for a
write that rolls back, and the request does not wait for the SMTP server)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

#: Where this backend is configured when a message is composed, it is not sent at all (the demo
#: data loads under it: it e-mails nobody, and must not leave mail for a worker to send later).
NO_MAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"


def email_on_commit(*, subject: str, body: str, recipients: list[str]) -> None:
    recipients = [r for r in recipients if r]
    if not recipients or settings.EMAIL_BACKEND == NO_MAIL_BACKEND:
        return
    from khutwa.jobs.tasks import email_send

    transaction.on_commit(lambda: email_send.enqueue(subject, body, recipients))
