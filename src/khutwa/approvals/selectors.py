"""Reads of reviews: each reviewer sees only their own body's queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from khutwa.accounts.roles import Role
from khutwa.approvals.models import Review, ReviewStatus
from khutwa.catalogue.models import ApprovingBody
from khutwa.errors import NotFound
from khutwa.keyset import count_capped_once
from khutwa.licensing import selectors as licensing_selectors
from khutwa.licensing.selectors import search_filter

#: The queues' total order (the id breaks ties between reviews due the same day).
QUEUE_ORDER = ("due_date", "id")


def _body_of(user: Any) -> int | None:
    if user.is_authenticated and user.has_role(Role.REVIEWER, Role.INSPECTOR):
        return user.body_id
    return None


def overdue_q(today: dt.date) -> Q:
    # in_queue first: it is what the (body, in_queue, due_date) index is ordered by.
    return Q(in_queue=1, status=ReviewStatus.PENDING, due_date__lt=today)


def review_queue(
    user: Any,
    *,
    status: str = "",
    overdue: bool = False,
    query: str = "",
    today: dt.date | None = None,
) -> QuerySet[Review]:
    body_id = _body_of(user)
    if body_id is None:
        return Review.objects.none()
    today = today or timezone.localdate()
    # Only the application is joined: every row is the caller's body, and joining the small
    # body table first would make SQLite sort instead of reading the open-queue index in order.
    qs = Review.objects.filter(body_id=body_id).select_related("application")
    if status == "open" or not status:
        qs = qs.filter(in_queue=1)
    elif status != "all":
        qs = qs.filter(status=status)
    if overdue:
        qs = qs.filter(overdue_q(today))
    if query:
        qs = qs.filter(_prefix(search_filter(query)))
    return qs.order_by(*QUEUE_ORDER)


def _prefix(condition: Q) -> Q:
    """search_filter's condition, re-rooted at the review's application."""
    rooted = Q()
    rooted.connector = condition.connector
    rooted.negated = condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            rooted.children.append(_prefix(child))
        elif not isinstance(child, tuple):
            rooted.children.append(child)  # an expression that names its tables itself
        else:
            key, value = child
            rooted.children.append((f"application__{key}", value))
    return rooted


def get_review_for(user: Any, pk: int) -> Review:
    body_id = _body_of(user)
    review = (
        Review.objects.select_related("application", "application__tier", "application__governorate", "body")
        .filter(pk=pk, body_id=body_id)
        .first()
        if body_id
        else None
    )
    if review is None:
        raise NotFound("Not found.")
    return review


def overdue_by_body(today: dt.date | None = None, cap: int | None = None) -> list[dict[str, Any]]:
    """Overdue reviews per body: one index range per body (a handful of bodies), counted up to
    cap + 1 (more reads "more than cap")."""
    today = today or timezone.localdate()
    bodies = list(ApprovingBody.objects.filter(is_active=True))
    by_id = {body.pk: body for body in bodies}
    counts = count_capped_once(
        ("overdue_by_body", today, tuple(by_id)),
        Review,
        lambda: {pk: Review.objects.filter(overdue_q(today), body_id=pk) for pk in by_id},
        licensing_selectors.COUNT_CAP if cap is None else cap,
    )
    return [
        {
            "body__code": by_id[pk].code,
            "body__name_ar": by_id[pk].name_ar,
            "body__name_en": by_id[pk].name_en,
            "n": n,
        }
        for pk, n in counts.items()
        if n
    ]


def overdue_reviews(today: dt.date | None = None) -> QuerySet[Review]:
    today = today or timezone.localdate()
    return (
        Review.objects.filter(overdue_q(today)).select_related("application", "body").order_by(*QUEUE_ORDER)
    )


def is_overdue(review: Review, today: dt.date | None = None) -> bool:
    today = today or timezone.localdate()
    return review.status == ReviewStatus.PENDING and review.due_date < today
