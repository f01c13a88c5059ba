"""The application state machine: every allowed transition and who may make it, in one place.

    draft ─submit→ submitted ─start_screening→ screening ─accept→ in_review ─(all approve)→ approved
      ↑                                          │                   │                      │
      └──────────────return (items missing)──────┘            (a body rejects)          issue_licence
                                                                     ↓                      ↓
                                       in_review ←appeal (once)─ rejected            licence_issued
    any open state ─withdraw→ withdrawn

`transition()` is the only code that changes `Application.status`. It locks the row,
refuses an illegal move with a clear message and changes nothing, records the status
change, writes an audit event and notifies the applicant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from khutwa.audit.services import audit_record
from khutwa.errors import Refused
from khutwa.licensing.models import Application, ApplicationStatus, ApplicationTransition
from khutwa.licensing.notify import notify_applicant

S = ApplicationStatus
APPLICANT = "applicant"  # the applicant themself (or the registrar on a walk-in's behalf)
REGISTRAR = "registrar"
SYSTEM = "system"  # the outcome of the reviews


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    actors: frozenset[str]
    label: Promise


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("submit", (S.DRAFT,), S.SUBMITTED, frozenset({APPLICANT, REGISTRAR}), _("Submit")),
        Transition(
            "start_screening",
            (S.SUBMITTED,),
            S.SCREENING,
            frozenset({REGISTRAR}),
            _("Start screening"),
        ),
        Transition("return", (S.SCREENING,), S.DRAFT, frozenset({REGISTRAR}), _("Return for missing items")),
        Transition(
            "accept",
            (S.SCREENING,),
            S.IN_REVIEW,
            frozenset({REGISTRAR}),
            _("Accept and send for review"),
        ),
        Transition("approve", (S.IN_REVIEW,), S.APPROVED, frozenset({SYSTEM, REGISTRAR}), _("Approve")),
        Transition("reject", (S.IN_REVIEW,), S.REJECTED, frozenset({SYSTEM}), _("Reject")),
        Transition(
            "issue_licence",
            (S.APPROVED,),
            S.LICENCE_ISSUED,
            frozenset({REGISTRAR}),
            _("Issue the licence"),
        ),
        Transition("appeal", (S.REJECTED,), S.IN_REVIEW, frozenset({APPLICANT}), _("Appeal")),
        Transition(
            "withdraw",
            (S.DRAFT, S.SUBMITTED, S.SCREENING, S.IN_REVIEW, S.APPROVED),
            S.WITHDRAWN,
            frozenset({APPLICANT}),
            _("Withdraw"),
        ),
    )
}

NOTICES = {
    "submit": (
        "استلمنا طلبك رقم %(ref)s وسيبدأ المسجّل بتدقيقه.",
        "We received your application %(ref)s; the registrar will check it.",
    ),
    "start_screening": (
        "بدأ المسجّل تدقيق طلبك رقم %(ref)s.",
        "The registrar started checking your application %(ref)s.",
    ),
    "return": (
        "أعيد طلبك رقم %(ref)s لاستكمال: %(note)s",
        "Your application %(ref)s was returned for missing items: %(note)s",
    ),
    "accept": (
        "أرسل طلبك رقم %(ref)s إلى الجهات المعتمِدة للمراجعة.",
        "Your application %(ref)s was sent to the approving bodies for review.",
    ),
    "approve": (
        "وافقت جميع الجهات على طلبك رقم %(ref)s؛ سيصدر الترخيص قريبًا.",
        "Every body approved your application %(ref)s; the licence will be issued shortly.",
    ),
    "reject": (
        "رُفض طلبك رقم %(ref)s: %(note)s",
        "Your application %(ref)s was rejected: %(note)s",
    ),
    "issue_licence": (
        "صدر ترخيصك بناءً على الطلب رقم %(ref)s.",
        "Your licence was issued on application %(ref)s.",
    ),
    "appeal": (
        "استلمنا تظلمك على الطلب رقم %(ref)s وأعيد إلى المراجعة.",
        "We received your appeal on %(ref)s; it is back in review.",
    ),
    "withdraw": (
        "سُحب طلبك رقم %(ref)s.",
        "Your application %(ref)s was withdrawn.",
    ),
}


def allowed(application: Application, name: str) -> bool:
    return application.status in TRANSITIONS[name].sources


def available(application: Application, actor_kind: str) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if application.status in t.sources and actor_kind in t.actors]


def transition(
    application: Application,
    name: str,
    *,
    actor: Any,
    actor_kind: str,
    note: str = "",
    changes: dict[str, Any] | None = None,
) -> Application:
    """Move the application along `name`, or raise Refused and change nothing."""
    spec = TRANSITIONS[name]
    if actor_kind not in spec.actors:
        raise Refused(
            _("You may not %(action)s this application.") % {"action": str(spec.label).lower()},
            status=403,
        )
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.status not in spec.sources:
            raise Refused(
                _("An application that is “%(status)s” cannot be moved by “%(action)s”.")
                % {"status": locked.get_status_display(), "action": spec.label},
                field="status",
            )
        before = locked.status
        now = timezone.now()
        locked.status = spec.target
        for field, value in (changes or {}).items():
            setattr(locked, field, value)
        if name == "submit" and locked.submitted_at is None:
            locked.submitted_at = now
        if spec.target in (S.APPROVED, S.REJECTED):
            locked.decided_at = now
        locked.save()
        ApplicationTransition.objects.create(
            application=locked,
            from_status=before,
            to_status=spec.target,
            action=name,
            actor=actor if getattr(actor, "pk", None) else None,
            note=note,
            at=now,
        )
        audit_record(
            actor=actor,
            action=f"licensing.application.{name}",
            obj=locked,
            before={"status": before},
            after={"status": locked.status, "note": note, **_plain(changes)},
        )
        ar, en = NOTICES[name]
        notify_applicant(
            locked,
            message_ar=ar % {"ref": locked.reference, "note": note},
            message_en=en % {"ref": locked.reference, "note": note},
            **_event_of(name, locked, note),
        )
    application.refresh_from_db()
    return application


def _event_of(name: str, application: Application, note: str) -> dict[str, Any]:
    """Which notification a transition is (the others tell the notice's text as it is)."""
    if name == "submit":
        return {"event": "application_received"}
    if name == "return":
        return {"event": "information_requested", "context": {"note": note}}
    if name in ("approve", "reject"):
        return {"event": "application_decided", "context": {"approved": name == "approve", "note": note}}
    if name == "issue_licence":
        from khutwa.notifications.services import page

        return {
            "event": "licence_issued",
            "context": {"number": note, "link": page("portal:licence", number=note)},
        }
    return {}


def _plain(changes: dict[str, Any] | None) -> dict[str, Any]:
    return {k: str(v) for k, v in (changes or {}).items()}
