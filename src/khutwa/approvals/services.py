"""Reviews by the approving bodies: routing, decisions, information requests, inspections,
the service clock and its reminders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from khutwa.accounts.roles import Role
from khutwa.approvals.models import (
    APPROVING_STATUSES,
    OPEN_REVIEW_STATUSES,
    InfoRequest,
    Inspection,
    InspectionOutcome,
    Review,
    ReviewStatus,
)
from khutwa.audit.services import audit_record
from khutwa.catalogue.calendar import WorkCalendar
from khutwa.catalogue.models import ApprovingBody
from khutwa.catalogue.selectors import work_calendar
from khutwa.errors import Refused
from khutwa.jobs.mail import email_on_commit
from khutwa.licensing import workflow
from khutwa.licensing.models import Application, ApplicationStatus
from khutwa.licensing.notify import notify_applicant
from khutwa.text import strip_bidi

DECISIONS = ("approve", "approve_with_conditions", "reject", "request_info")


def _due(review: Review, calendar: WorkCalendar) -> dt.date:
    return calendar.add_working_days(review.started_on, review.sla_working_days + review.paused_working_days)


def reviews_open(
    *,
    application: Application,
    bodies: Sequence[ApprovingBody],
    actor: Any,
    today: dt.date | None = None,
    reason: str = "",
) -> list[Review]:
    """One review per body, in parallel, each with its own clock starting today."""
    today = today or timezone.localdate()
    calendar = work_calendar()
    inspection_needed = application.activities.filter(requires_inspection=True).exists()
    created = []
    for body in bodies:
        review = Review(
            application=application,
            body=body,
            started_on=today,
            sla_working_days=body.sla_working_days,
            requires_inspection=inspection_needed and body.conducts_inspections,
            added_reason=reason,
        )
        review.due_date = _due(review, calendar)
        review.save()
        audit_record(
            actor=actor,
            action="approvals.review.open",
            obj=review,
            after={"body": body.code, "due_date": review.due_date.isoformat(), "reason": reason},
        )
        created.append(review)
    return created


def review_add_body(*, actor: Any, application: Application, body: ApprovingBody, reason: str) -> Review:
    """The registrar sends an application in review to one more body, saying why."""
    if not actor.has_role(Role.REGISTRAR):
        raise Refused(_("Only the registrar may add an approving body."), status=403)
    if not reason.strip():
        raise Refused(_("Give the reason for adding this body."), field="reason", status=422)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.status != ApplicationStatus.IN_REVIEW:
            raise Refused(_("Bodies can be added only while the application is in review."))
        if locked.reviews.filter(body=body, status__in=OPEN_REVIEW_STATUSES).exists():
            raise Refused(
                _("%(body)s is already reviewing this application.") % {"body": body.name},
                field="body",
            )
        (review,) = reviews_open(application=locked, bodies=[body], actor=actor, reason=reason.strip())
    return review


def _authorise_reviewer(actor: Any, review: Review) -> None:
    if not (actor.has_role(Role.REVIEWER, Role.INSPECTOR) and actor.body_id == review.body_id):
        raise Refused(_("Not found."), status=404)


def review_decide(
    *,
    actor: Any,
    review: Review,
    decision: str,
    reason: str = "",
    conditions: str = "",
    today: dt.date | None = None,
) -> Review:
    """A reviewer's decision for their body; settles the application when all are in."""
    _authorise_reviewer(actor, review)
    if decision not in DECISIONS:
        raise Refused(
            _("Choose one of: approve, approve with conditions, reject, request information."),
            field="decision",
            status=422,
        )
    # The conditions are printed on the licence certificate: no bidirectional controls.
    reason, conditions = strip_bidi(reason).strip(), strip_bidi(conditions).strip()
    if decision == "reject" and not reason:
        raise Refused(_("A rejection needs a reason; the applicant will see it."), field="reason", status=422)
    if decision == "request_info" and not reason:
        raise Refused(_("Write what the applicant must provide."), field="reason", status=422)
    if decision == "approve_with_conditions" and not conditions:
        raise Refused(_("Write the conditions; they appear on the licence."), field="conditions", status=422)
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = Review.objects.select_for_update().select_related("application", "body").get(pk=review.pk)
        if locked.status != ReviewStatus.PENDING:
            raise Refused(
                _("This review is “%(status)s”; it cannot take a decision now.")
                % {"status": locked.get_status_display()}
            )
        if locked.application.status != ApplicationStatus.IN_REVIEW:
            raise Refused(_("The application is no longer in review."))
        if (
            decision != "request_info"
            and locked.requires_inspection
            and not locked.inspections.exclude(outcome=InspectionOutcome.SCHEDULED).exists()
        ):
            raise Refused(_("Record the home inspection's outcome before deciding."), field="decision")
        before = {"status": locked.status, "due_date": locked.due_date.isoformat()}
        if decision == "request_info":
            locked.status = ReviewStatus.INFO_REQUESTED
            locked.paused_since = today
            InfoRequest.objects.create(
                review=locked, question=reason, asked_by=actor, asked_at=timezone.now()
            )
            ref = locked.application.reference
            notify_applicant(
                locked.application,
                message_ar=f"تطلب {locked.body.name_ar} معلومات عن الطلب {ref}: {reason}",
                message_en=f"{locked.body.name_en} asks for information on {ref}: {reason}",
                event="information_requested",
                context={"note": reason, "body_ar": locked.body.name_ar, "body_en": locked.body.name_en},
            )
        else:
            locked.status = {
                "approve": ReviewStatus.APPROVED,
                "approve_with_conditions": ReviewStatus.APPROVED_WITH_CONDITIONS,
                "reject": ReviewStatus.REJECTED,
            }[decision]
            locked.reason = reason
            locked.conditions = conditions if decision == "approve_with_conditions" else ""
            locked.decided_at = timezone.now()
            locked.reviewer = actor
        locked.save()
        audit_record(
            actor=actor,
            action=f"approvals.review.{decision}",
            obj=locked,
            before=before,
            after={"status": locked.status, "reason": reason, "conditions": conditions},
        )
        if decision != "request_info":
            application_settle(application=locked.application, actor=actor)
    review.refresh_from_db()
    return review


def application_settle(*, application: Application, actor: Any) -> None:
    """All required approvals in → approved; any rejection → rejected with the reasons."""
    reviews = list(application.reviews.select_related("body"))
    rejected = [r for r in reviews if r.status == ReviewStatus.REJECTED]
    if rejected:
        for review in reviews:
            if review.is_open:
                review.status = ReviewStatus.CLOSED
                review.paused_since = None
                review.save(update_fields=["status", "paused_since"])
        reasons = "; ".join(f"{r.body.name_en} / {r.body.name_ar}: {r.reason}" for r in rejected)
        workflow.transition(
            application,
            "reject",
            actor=actor,
            actor_kind=workflow.SYSTEM,
            note=reasons,
            changes={"rejection_reasons": reasons},
        )
    elif reviews and all(r.status in APPROVING_STATUSES for r in reviews):
        workflow.transition(application, "approve", actor=actor, actor_kind=workflow.SYSTEM)


def review_answer(
    *, actor: Any, info_request: InfoRequest, answer: str, today: dt.date | None = None
) -> Review:
    """The applicant answers; the review's clock resumes, the paused days excluded."""
    answer = answer.strip()
    if not answer:
        raise Refused(_("Write your answer."), field="answer", status=422)
    today = today or timezone.localdate()
    with transaction.atomic():
        review = (
            Review.objects.select_for_update().select_related("application").get(pk=info_request.review_id)
        )
        locked = InfoRequest.objects.select_for_update().get(pk=info_request.pk)
        if locked.answered_at is not None or review.status != ReviewStatus.INFO_REQUESTED:
            raise Refused(_("This request has already been answered."))
        calendar = work_calendar()
        paused = calendar.working_days_between(review.paused_since or today, today)
        review.paused_working_days += paused
        review.paused_since = None
        review.status = ReviewStatus.PENDING
        review.due_date = _due(review, calendar)
        review.save()
        locked.answer = answer
        locked.answered_at = timezone.now()
        locked.save()
        audit_record(
            actor=actor,
            action="approvals.review.answer",
            obj=review,
            after={
                "paused_working_days": review.paused_working_days,
                "due_date": review.due_date.isoformat(),
            },
        )
    return review


def inspection_schedule(*, actor: Any, review: Review, scheduled_for: dt.date, inspector: Any) -> Inspection:
    _authorise_reviewer(actor, review)
    if not (inspector.has_role(Role.INSPECTOR, Role.REVIEWER) and inspector.body_id == review.body_id):
        raise Refused(_("The inspector must work for this body."), field="inspector", status=422)
    if scheduled_for < timezone.localdate():
        raise Refused(_("Choose a date from today on."), field="scheduled_for", status=422)
    if not review.is_open:
        raise Refused(_("This review is closed."))
    with transaction.atomic():
        inspection = Inspection.objects.create(
            review=review, scheduled_for=scheduled_for, inspector=inspector
        )
        audit_record(
            actor=actor,
            action="approvals.inspection.schedule",
            obj=review,
            after={"date": scheduled_for.isoformat(), "inspector": inspector.username},
        )
    return inspection


def inspection_record(
    *, actor: Any, inspection: Inspection, outcome: str, notes: str, today: dt.date | None = None
) -> Inspection:
    """The outcome of a scheduled inspection, once: from its date on (a visit cannot be reported
    before it was due), while the review is open."""
    _authorise_reviewer(actor, inspection.review)
    if outcome not in (InspectionOutcome.PASSED, InspectionOutcome.FAILED):
        raise Refused(_("The outcome is passed or failed."), field="outcome", status=422)
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = Inspection.objects.select_for_update().select_related("review").get(pk=inspection.pk)
        if locked.outcome != InspectionOutcome.SCHEDULED:
            raise Refused(_("This inspection's outcome is already recorded."), field="outcome")
        if today < locked.scheduled_for:
            raise Refused(
                _("This inspection is scheduled for %(date)s; its outcome can be recorded from that day on.")
                % {"date": locked.scheduled_for.isoformat()},
                field="outcome",
            )
        if not locked.review.is_open:
            raise Refused(_("This review is closed."), field="outcome")
        locked.outcome = outcome
        locked.notes = notes.strip()
        locked.recorded_at = timezone.now()
        locked.save()
        audit_record(
            actor=actor,
            action="approvals.inspection.record",
            obj=locked.review,
            after={"outcome": outcome, "notes": locked.notes},
        )
    return locked


def reviews_reopen_for_appeal(
    *, application: Application, actor: Any, today: dt.date | None = None
) -> list[Review]:
    """Reopen the rejecting body's review (and any left undecided) with a fresh clock."""
    today = today or timezone.localdate()
    calendar = work_calendar()
    reopened = []
    for review in application.reviews.filter(status__in=[ReviewStatus.REJECTED, ReviewStatus.CLOSED]):
        review.status = ReviewStatus.PENDING
        review.started_on = today
        review.paused_working_days = 0
        review.paused_since = None
        review.decided_at = None
        review.reminded_before_due = review.reminded_overdue = False
        review.reopened_count += 1
        review.due_date = _due(review, calendar)
        review.save()
        audit_record(
            actor=actor,
            action="approvals.review.reopen",
            obj=review,
            after={"due_date": review.due_date.isoformat()},
        )
        reopened.append(review)
    return reopened


def reviews_close_open(*, application: Application) -> None:
    """On withdrawal: open reviews close so that they leave every queue."""
    application.reviews.filter(status__in=OPEN_REVIEW_STATUSES).update(
        status=ReviewStatus.CLOSED, paused_since=None
    )


def reminders_send(*, today: dt.date | None = None) -> tuple[int, int]:
    """Remind each body's reviewers the working day before a due date and on the day after it
    passes. Idempotent: each reminder is sent once per review."""
    from khutwa.accounts.models import User

    today = today or timezone.localdate()
    calendar = work_calendar()
    before_count = overdue_count = 0
    open_reviews = Review.objects.filter(status=ReviewStatus.PENDING).select_related("application", "body")
    for review in open_reviews.filter(reminded_before_due=False, due_date__gt=today):
        if calendar.previous_working_day(review.due_date) <= today:
            _remind(review, overdue=False, users=User.objects.filter(body=review.body_id))
            Review.objects.filter(pk=review.pk).update(reminded_before_due=True)
            before_count += 1
    for review in open_reviews.filter(reminded_overdue=False, due_date__lt=today):
        _remind(review, overdue=True, users=User.objects.filter(body=review.body_id))
        Review.objects.filter(pk=review.pk).update(reminded_overdue=True)
        overdue_count += 1
    return before_count, overdue_count


def _remind(review: Review, *, overdue: bool, users: Iterable[Any]) -> None:
    ref = review.application.reference
    due = review.due_date.isoformat()
    if overdue:
        subject = f"Khutwa: {ref} is overdue (was due {due}) · متأخر"
    else:
        subject = f"Khutwa: {ref} is due on {due} · موعد الاستحقاق"
    email_on_commit(subject=subject, body=subject, recipients=[u.email for u in users if u.email])
    audit_record(
        actor=None,
        action="approvals.review.remind",
        obj=review,
        after={"overdue": overdue, "due_date": due},
    )
