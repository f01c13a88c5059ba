"""Writes: preferences, and every notification (an in-portal notice, then e-mail and SMS composed
in the recipient's language and sent by retried background tasks once the transaction commits).

Events and their templates (``templates/notifications/<event>.subject.txt``, ``<event>.txt`` for
the e-mail body, ``<event>.sms.txt``) are listed in ``EVENTS``; docs/notifications.md describes
them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template import Context
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from khutwa.audit.services import audit_record
from khutwa.jobs.mail import email_on_commit
from khutwa.notifications.models import Language, Preference, Sent
from khutwa.notifications.selectors import customer_account, mobile_of, preference_for
from khutwa.sms.tasks import sms_on_commit

EVENTS = (
    "application_received",
    "information_requested",
    "application_decided",
    "application_updated",
    "licence_issued",
    "licence_expiring",
    "support_decided",
    "claim_paid",
    "quotation_received",
)

#: Days before a licence's last valid day when its holder is reminded (each once).
EXPIRY_REMINDER_DAYS = (30, 7)


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    sms: str


def _render_one(name: str, context: dict[str, Any]) -> str:
    # Plain text: no HTML escaping (the e-mail is text/plain, the SMS is text).
    template = get_template(name).template  # type: ignore[attr-defined]
    return str(template.render(Context(context, autoescape=False)))


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def render(event: str, language: str, context: dict[str, Any]) -> Message:
    """The event's message in one language (links point to that language's pages)."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    with translation.override(language):
        ctx = {**context, "lang": language, "site": settings.KHUTWA_SITE_URL}
        ctx.update({k: v() for k, v in context.items() if callable(v)})
        subject = " ".join(_render_one(f"notifications/{event}.subject.txt", ctx).split())
        body = _tidy(_render_one(f"notifications/{event}.txt", ctx))
        sms = " ".join(_render_one(f"notifications/{event}.sms.txt", ctx).split())
    return Message(subject=subject, body=body, sms=sms)


def render_bilingual(event: str, context: dict[str, Any]) -> Message:
    """Arabic first, English below (for people whose language is not known)."""
    ar, en = render(event, "ar", context), render(event, "en", context)
    return Message(
        subject=f"{ar.subject} · {en.subject}",
        body=f"{ar.body}\n\n————\n\n{en.body}",
        sms=f"{ar.sms}\n{en.sms}",
    )


def page(viewname: str, **kwargs: Any) -> Any:
    """A link to a portal page, resolved in the language the message is rendered in."""
    return lambda: settings.KHUTWA_SITE_URL + reverse(viewname, kwargs=kwargs or None)


def notify_user(
    *,
    user: Any,
    event: str,
    context: dict[str, Any],
    email: str = "",
    notice: tuple[str, str] | None = None,
    application: Any = None,
) -> None:
    """A portal user hears of `event`: an in-portal notice at once, in the caller's transaction
    (`notice` = its Arabic and English text, else the event's SMS text in each language, without
    links); then, once the transaction commits, e-mail (to `email`, else the account's address) and
    SMS (to the account's mobile) as their preferences say, in their language, each sent by a
    background task. Composing waits for the commit: no lock is held while links and templates
    are resolved, and a rollback sends nothing."""
    from khutwa.licensing.models import Notice

    if notice is None:
        plain = {k: ("" if callable(v) else v) for k, v in context.items()}
        notice = (render(event, "ar", plain).sms, render(event, "en", plain).sms)
    Notice.objects.create(
        user=user,
        application=application,
        message_ar=notice[0],
        message_en=notice[1],
        created_at=timezone.now(),
    )
    transaction.on_commit(partial(_user_send, user.pk, event, context, email))


def _user_send(user_pk: int, event: str, context: dict[str, Any], email: str) -> None:
    from khutwa.accounts.models import User

    user = User.objects.filter(pk=user_pk).first()
    if user is None:
        return
    preference = preference_for(user)
    if not (preference.by_email or preference.by_sms):
        return
    message = render(event, preference.language, {**context, "preferences": page("portal:notifications")})
    address = email or user.email
    if preference.by_email and address:
        email_on_commit(subject=message.subject, body=message.body, recipients=[address])
    mobile = mobile_of(user.phone)
    if preference.by_sms and mobile:
        sms_on_commit(to=mobile, text=message.sms)


def notify_contact(
    *, email: str, phone: str, event: str, context: dict[str, Any], language: str = ""
) -> None:
    """Someone without a portal account (a holder's customer, a walk-in applicant): e-mail and
    SMS to what they gave, in `language` when known, else Arabic with English below; composed
    and enqueued once the caller's transaction commits."""
    if email or mobile_of(phone):
        transaction.on_commit(partial(_contact_send, email, phone, event, context, language))


def _contact_send(email: str, phone: str, event: str, context: dict[str, Any], language: str) -> None:
    message = render(event, language, context) if language else render_bilingual(event, context)
    if email:
        email_on_commit(subject=message.subject, body=message.body, recipients=[email])
    mobile = mobile_of(phone)
    if mobile:
        sms_on_commit(to=mobile, text=message.sms)


# Preferences ------------------------------------------------------------------------------


def preference_update(*, actor: Any, by_email: bool, by_sms: bool, language: str) -> Preference:
    """The user's own choice of channels and language; refused (nothing changed) for a language
    other than Arabic or English, or SMS without a mobile number on the account."""
    errors: dict[str, list[str]] = {}
    if language not in Language.values:
        errors["language"] = [_("Choose Arabic or English.")]
    if by_sms and not mobile_of(actor.phone):
        errors["sms"] = [_("Text messages need a Bahraini mobile number on your account.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        preference, _created = Preference.objects.select_for_update().get_or_create(user=actor)
        before = {"email": preference.by_email, "sms": preference.by_sms, "language": preference.language}
        preference.by_email = by_email
        preference.by_sms = by_sms
        preference.language = language
        preference.save()
        audit_record(
            actor=actor,
            action="notifications.preference.update",
            obj=preference,
            before=before,
            after={"email": by_email, "sms": by_sms, "language": language},
        )
    return preference


# Events that are not a state change of their own -------------------------------------------


def quotation_to_accept(document: Any) -> None:
    """The customer a quotation is addressed to learns of it, with the page where they accept it
    (after logging in) and its public verification page. Called in the issuing transaction;
    everything else (who the customer is, their language) waits for the commit, so that the
    licence's numbering lock is not held for it."""
    transaction.on_commit(partial(_quotation_send, document.pk))


def _quotation_send(document_pk: int) -> None:
    from khutwa.documents.models import Document

    document = Document.objects.select_related("customer").filter(pk=document_pk).first()
    if document is None:
        return
    customer = document.customer
    if not (customer.email or mobile_of(customer.phone)):
        return
    account = customer_account(customer)
    language = preference_for(account).language if account is not None else ""
    issuer = (document.payload or {}).get("issuer") or {}
    context = {
        "number": document.number,
        "trade_name": issuer.get("trade_name", ""),
        "total": f"{document.total:.3f}",
        "valid_until": document.valid_until.isoformat() if document.valid_until else "",
        "link": page("portal:document", public_id=document.public_id),
        "verify_link": page("portal:verify", public_id=str(document.public_id)),
    }
    _contact_send(customer.email, customer.phone, "quotation_received", context, language)


def licence_expiry_reminders_send(*, today: dt.date | None = None) -> int:
    """Remind each active licence's holder 30 and 7 days before its last valid day. Each reminder
    goes once per licence and validity (a key in `Sent`, taken in the same transaction): a rerun,
    or two schedulers, send nothing more. A day missed is caught up on the next run; only the
    nearest reminder is sent. Returns how many were scheduled."""
    from khutwa.licensing.models import Licence, LicenceStatus

    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=max(EXPIRY_REMINDER_DAYS))
    due = (
        Licence.objects.filter(
            status=LicenceStatus.ACTIVE,
            valid_until__gte=today,
            valid_until__lte=horizon,
            holder__isnull=False,
        )
        .select_related("holder")
        .order_by("valid_until", "pk")
    )
    count = 0
    for licence in due:
        days_left = (licence.valid_until - today).days
        threshold = min(d for d in EXPIRY_REMINDER_DAYS if days_left <= d)
        key = f"licence_expiring:{licence.pk}:{licence.valid_until.isoformat()}:{threshold}"
        with transaction.atomic():
            _sent, created = Sent.objects.get_or_create(
                key=key, defaults={"event": "licence_expiring", "at": timezone.now()}
            )
            if not created:
                continue
            notify_user(
                user=licence.holder,
                event="licence_expiring",
                context={
                    "number": licence.number,
                    "valid_until": licence.valid_until.isoformat(),
                    "days_left": days_left,
                    "link": page("portal:licence", number=licence.number),
                },
            )
            audit_record(
                actor=None,
                action="notifications.licence.expiry_reminder",
                obj=licence,
                after={"days_before": threshold, "valid_until": licence.valid_until.isoformat()},
            )
        count += 1
    return count
