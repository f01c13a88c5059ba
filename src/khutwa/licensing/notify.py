"""Notices to applicants: in the portal at once, by e-mail (a task enqueued when the transaction
commits)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from khutwa.jobs.mail import email_on_commit
from khutwa.licensing.models import Application, Notice


def notify_applicant(application: Application, *, message_ar: str, message_en: str) -> None:
    user = application.applicant
    if user is not None:
        Notice.objects.create(
            user=user,
            application=application,
            message_ar=message_ar,
            message_en=message_en,
            created_at=timezone.now(),
        )
    email = application.email or (user.email if user is not None else "")
    if email:
        subject = f"Khutwa · خطوة — {application.reference}"
        body = f"{message_ar}\n\n{message_en}\n\n{settings.KHUTWA_SITE_URL}"
        email_on_commit(subject=subject, body=body, recipients=[email])
