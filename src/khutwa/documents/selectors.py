"""Reads of documents with their access rules: a holder sees their own licence's documents,
a customer sees the documents addressed to them (matched by CPR), nobody else anything."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Q, QuerySet

from khutwa.documents.models import Customer, Document
from khutwa.errors import NotFound


def visible_to(user: Any) -> Q:
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    condition = Q(licence__holder_id=user.pk)
    if user.cpr:
        condition |= Q(customer__cpr=user.cpr)
    return condition


def documents_for(
    user: Any,
    *,
    type_: str = "",
    customer: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    query: str = "",
) -> QuerySet[Document]:
    qs = Document.objects.filter(visible_to(user)).select_related("customer", "licence")
    if type_:
        qs = qs.filter(type=type_)
    if customer:
        qs = qs.filter(customer_id=customer)
    if start:
        qs = qs.filter(issue_date__gte=start)
    if end:
        qs = qs.filter(issue_date__lte=end)
    if query:
        qs = qs.filter(
            Q(number__icontains=query.strip())
            | Q(customer__name_ar__icontains=query.strip())
            | Q(customer__name_en__icontains=query.strip())
        )
    return qs.order_by("-issued_at", "-id")


def _uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound("Not found.") from None


def get_document_for(user: Any, public_id: Any) -> Document:
    public_id = _uuid(public_id)
    try:
        document = (
            Document.objects.filter(visible_to(user))
            .select_related("customer", "licence", "licence__tier")
            .filter(public_id=public_id)
            .first()
        )
    except (ValueError, TypeError):
        document = None
    if document is None:
        raise NotFound("Not found.")
    return document


def customers_of(user: Any) -> QuerySet[Customer]:
    return Customer.objects.filter(owner_id=user.pk, is_tamkeen=False).order_by("name_en", "name_ar", "id")


def document_public(public_id: Any) -> Document:
    try:
        # get(), not first(): a unique lookup needs no ORDER BY (this is the hot path of /verify).
        return Document.objects.select_related("licence").get(public_id=_uuid(public_id))
    except Document.DoesNotExist:
        raise NotFound("Not found.") from None
