"""Notices to applicants: in the portal at once, by e-mail and SMS as they chose, in their language
(khutwa.notifications; sent by tasks enqueued when the transaction commits)."""

from __future__ import annotations

from typing import Any

from khutwa.licensing.models import Application
from khutwa.notifications.services import notify_contact, notify_user, page


def notify_applicant(
    application: Application,
    *,
    message_ar: str,
    message_en: str,
    event: str = "application_updated",
    context: dict[str, Any] | None = None,
) -> None:
    """`message_ar`/`message_en` are the in-portal notice; `event` names the templates of the
    e-mail and SMS (the generic `application_updated` shows the notice's text)."""
    ctx = {
        "ref": application.reference,
        "message_ar": message_ar,
        "message_en": message_en,
        "link": page("portal:application", pk=application.pk),
        **(context or {}),
    }
    user = application.applicant
    if user is not None:
        notify_user(
            user=user,
            event=event,
            context=ctx,
            email=application.email,
            notice=(message_ar, message_en),
            application=application,
        )
    elif application.email:
        # A walk-in application (entered by the registrar) without an account: e-mail only,
        # in both languages, with the public tracking page.
        ctx["link"] = page("portal:track")
        notify_contact(email=application.email, phone="", event=event, context=ctx)
