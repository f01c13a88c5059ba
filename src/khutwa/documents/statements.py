"""Statements of account: a signed snapshot of one customer's balance over a period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from khutwa.accounts.models import User
from khutwa.documents import money
from khutwa.documents.models import Allocation, Customer, Document, DocumentType
from khutwa.documents.services import Issued, _seal_and_store, _take_numbers, active_licence
from khutwa.licensing.models import Licence

SIGNS = {DocumentType.INVOICE: 1, DocumentType.CREDIT_NOTE: -1, DocumentType.RECEIPT: -1}
BUCKETS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))


def statement_compute(
    *, licence: Licence, customer: Customer, start: dt.date, end: dt.date
) -> dict[str, Any]:
    """Opening balance, every invoice, credit note and receipt with a running balance, the
    closing balance and the ageing of what is outstanding at the end of the period."""
    movements = Document.objects.filter(
        licence=licence, customer=customer, type__in=list(SIGNS), issue_date__lte=end
    ).order_by("issue_date", "counter")
    before = movements.filter(issue_date__lt=start)
    opening = Decimal("0.000")
    for type_, sign in SIGNS.items():
        opening += sign * (before.filter(type=type_).aggregate(s=Sum("total"))["s"] or Decimal("0"))
    balance = money.bhd(opening)
    entries = []
    for doc in movements.filter(issue_date__gte=start).only(
        "type", "number", "issue_date", "total", "counter"
    ):
        sign = SIGNS[DocumentType(doc.type)]
        balance = money.bhd(balance + sign * doc.total)
        entries.append(
            {
                "date": doc.issue_date.isoformat(),
                "number": doc.number,
                "type": doc.type,
                "debit": money.text(doc.total) if sign > 0 else "0.000",
                "credit": money.text(doc.total) if sign < 0 else "0.000",
                "balance": money.text(balance),
            }
        )
    ageing = {name: Decimal("0.000") for name, _lo, _hi in BUCKETS}
    invoices = movements.filter(type=DocumentType.INVOICE)
    credited = dict(
        Document.objects.filter(type=DocumentType.CREDIT_NOTE, invoice__in=invoices, issue_date__lte=end)
        .values("invoice")
        .annotate(s=Sum("total"))
        .values_list("invoice", "s")
    )
    paid = dict(
        Allocation.objects.filter(invoice__in=invoices, receipt__issue_date__lte=end)
        .values("invoice")
        .annotate(s=Sum("amount"))
        .values_list("invoice", "s")
    )
    for invoice in invoices.only("pk", "total", "due_date", "issue_date"):
        left = invoice.total - credited.get(invoice.pk, Decimal("0")) - paid.get(invoice.pk, Decimal("0"))
        if left <= 0:
            continue
        days = max(0, (end - (invoice.due_date or invoice.issue_date)).days)  # days past due
        for name, _low, high in BUCKETS:
            if high is None or days <= high:
                ageing[name] += left
                break
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "opening_balance": money.text(opening),
        "entries": entries,
        "closing_balance": money.text(balance),
        "ageing": {name: money.text(value) for name, value in ageing.items()},
    }


def statement_issue(
    *,
    actor: User,
    customer_id: int | None,
    start: dt.date | None,
    end: dt.date | None,
    now: dt.datetime | None = None,
) -> Issued:
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    errors: dict[str, list[str]] = {}
    customer = Customer.objects.filter(owner=actor, pk=customer_id).first() if customer_id else None
    if customer is None:
        errors["customer"] = [_("Choose one of your customers.")]
    if start is None:
        errors["from"] = [_("Give the first day of the period.")]
    if end is None:
        errors["to"] = [_("Give the last day of the period.")]
    if start and end and start > end:
        errors["to"] = [_("The period ends before it starts.")]
    if end and end > today:
        errors["to"] = [_("The period cannot end in the future.")]
    if errors:
        raise ValidationError(errors)
    assert customer is not None and start is not None and end is not None  # noqa: S101 - checked above
    licence = active_licence(actor, today)
    with transaction.atomic():
        # Numbers first: the chain row's lock makes the snapshot consistent with the chain.
        numbers = _take_numbers(licence, DocumentType.STATEMENT, today.year, Decimal("0"))
        snapshot = statement_compute(licence=licence, customer=customer, start=start, end=end)
        document = _seal_and_store(
            actor=actor,
            licence=licence,
            type_=DocumentType.STATEMENT,
            customer=customer,
            lines=[],
            extra={"statement": snapshot, "tamkeen_application_number": ""},
            fields={"total": Decimal(snapshot["closing_balance"]), "period_from": start, "period_to": end},
            now=now,
            references={},
            numbers=numbers,
        )
    return Issued(document=document, warnings=[])
