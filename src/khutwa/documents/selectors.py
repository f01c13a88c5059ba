"""Reads of documents with their access rules: a holder sees their own licence's documents,
a customer sees the documents addressed to them (an individual by CPR, a business by its
commercial registration once a Tamkeen officer has checked the account's link to it), nobody
else anything."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from khutwa.documents.models import Allocation, Customer, CustomerKind, Document, DocumentType
from khutwa.errors import NotFound


def visible_to(user: Any) -> Q:
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    condition = Q(licence__holder_id=user.pk)
    if user.cpr:
        condition |= Q(customer__kind=CustomerKind.INDIVIDUAL, customer__cpr=user.cpr)
    if cr := user.verified_cr:
        condition |= Q(customer__kind=CustomerKind.BUSINESS, customer__cr_number=cr)
    return condition


def addressed_to(user: Any, customer: Customer) -> bool:
    """Whether a document to this customer (of any holder's book) is addressed to the user."""
    if not getattr(user, "is_authenticated", False):
        return False
    if customer.kind == CustomerKind.INDIVIDUAL:
        return bool(user.cpr) and customer.cpr == user.cpr
    return bool(customer.cr_number) and customer.cr_number == user.verified_cr


STATUSES = ("unpaid", "paid", "credited", "awaiting", "accepted", "declined", "expired")


def with_status(qs: QuerySet[Document], status: str, today: dt.date) -> QuerySet[Document]:
    """Filter by what happened to a document since: invoices unpaid/paid/credited, quotations
    awaiting an answer, accepted, declined or expired."""
    if status in ("unpaid", "paid", "credited"):
        credited = Coalesce(
            Subquery(
                Document.objects.filter(invoice_id=OuterRef("pk"))
                .order_by()
                .values("invoice_id")
                .annotate(s=Sum("total"))
                .values("s")
            ),
            Value(Decimal("0")),
            output_field=DecimalField(max_digits=14, decimal_places=3),
        )
        allocated = Coalesce(
            Subquery(
                Allocation.objects.filter(invoice_id=OuterRef("pk"))
                .order_by()
                .values("invoice_id")
                .annotate(s=Sum("amount"))
                .values("s")
            ),
            Value(Decimal("0")),
            output_field=DecimalField(max_digits=14, decimal_places=3),
        )
        qs = qs.filter(type=DocumentType.INVOICE).annotate(s_credited=credited, s_allocated=allocated)
        # Fully credited: "credited" (not "paid", though nothing is left to pay); paid: settled
        # by receipts, with or without a partial credit; unpaid: anything still outstanding.
        fully_credited = Q(s_credited__gte=F("total"))
        if status == "credited":
            return qs.filter(fully_credited)
        settled = Q(s_allocated__gt=0, s_allocated__gte=F("total") - F("s_credited")) & ~fully_credited
        if status == "paid":
            return qs.filter(settled)
        return qs.exclude(settled).exclude(fully_credited)
    qs = qs.filter(type=DocumentType.QUOTATION)
    if status == "awaiting":
        return qs.filter(response__isnull=True, valid_until__gte=today)
    if status == "expired":
        return qs.filter(response__isnull=True, valid_until__lt=today)
    return qs.filter(response__answer=status)


def documents_for(
    user: Any,
    *,
    type_: str = "",
    customer: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    query: str = "",
    status: str = "",
    today: dt.date | None = None,
) -> QuerySet[Document]:
    qs: QuerySet[Document] = Document.objects.filter(visible_to(user)).select_related("customer", "licence")
    if type_:
        qs = qs.filter(type=type_)
    if customer:
        qs = qs.filter(customer_id=customer)
    if start:
        qs = qs.filter(issue_date__gte=start)
    if end:
        qs = qs.filter(issue_date__lte=end)
    if status in STATUSES:
        qs = with_status(qs, status, today or timezone.localdate())
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


def customer_for(user: Any, pk: Any) -> Customer:
    """An entry of the user's own customer book (NotFound for anyone else's)."""
    valid = str(pk).isdigit() and 0 < int(pk) < 2**63
    customer = customers_of(user).filter(pk=pk).first() if valid else None
    if customer is None:
        raise NotFound("Not found.")
    return customer


def customers_of(user: Any) -> QuerySet[Customer]:
    return Customer.objects.filter(owner_id=user.pk, is_tamkeen=False).order_by("name_en", "name_ar", "id")


def document_public(public_id: Any) -> Document:
    try:
        # get(), not first(): a unique lookup needs no ORDER BY (this is the hot path of /verify).
        return Document.objects.select_related("licence").get(public_id=_uuid(public_id))
    except Document.DoesNotExist:
        raise NotFound("Not found.") from None
