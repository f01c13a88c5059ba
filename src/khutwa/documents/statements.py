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
from khutwa.documents.services import (
    AMOUNT_MAX,
    Issued,
    Prepared,
    _seal_and_store,
    _take_numbers,
    active_licence,
)
from khutwa.errors import Refused
from khutwa.licensing.models import Licence

SIGNS = {DocumentType.INVOICE: 1, DocumentType.CREDIT_NOTE: -1, DocumentType.RECEIPT: -1}
#: Ageing of what is outstanding at the end of the period, by days past the due date (an
#: invoice without a due date is due on its issue date). "credit" holds what the customer has
#: paid or been credited beyond its invoices (unallocated receipts, credits above what was
#: owed), as a negative amount, so that the buckets always add up to the closing balance.
BUCKETS = (
    ("not_due", None, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)
CREDIT = "credit"
#: Rows fetched at a time when a statement reads a customer's documents.
STREAM_CHUNK = 2000


def _sums(rows: Any) -> dict[int, Decimal]:
    return {pk: amount or Decimal("0") for pk, amount in rows}


def statement_compute(
    *, licence: Licence, customer: Customer, start: dt.date, end: dt.date
) -> dict[str, Any]:
    """Opening balance, every invoice, credit note and receipt with a running balance, the
    closing balance and the ageing of the closing balance."""
    movements = Document.objects.filter(
        licence=licence, customer=customer, type__in=list(SIGNS), issue_date__lte=end
    ).order_by("issue_date", "counter")
    opening = Decimal("0.000")
    for type_, amount in (
        movements.filter(issue_date__lt=start).values_list("type").annotate(s=Sum("total")).order_by()
    ):
        opening += SIGNS[DocumentType(type_)] * (amount or Decimal("0"))
    balance = money.bhd(opening)
    entries = []
    # Streamed (tuples, in chunks): a holder's 10,000 documents are never all model instances
    # in memory at once; only the entries the sealed snapshot carries are kept.
    rows = (
        movements.filter(issue_date__gte=start)
        .values_list("type", "number", "issue_date", "total")
        .iterator(chunk_size=STREAM_CHUNK)
    )
    for type_, number, issue_date, total in rows:
        sign = SIGNS[DocumentType(type_)]
        balance = money.bhd(balance + sign * total)
        entries.append(
            {
                "date": issue_date.isoformat(),
                "number": number,
                "type": type_,
                "debit": money.text(total) if sign > 0 else "0.000",
                "credit": money.text(total) if sign < 0 else "0.000",
                "balance": money.text(balance),
            }
        )
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "opening_balance": money.text(opening),
        "entries": entries,
        "closing_balance": money.text(balance),
        "ageing": {name: money.text(value) for name, value in _ageing(movements, end).items()},
    }


def _ageing(movements: Any, end: dt.date) -> dict[str, Decimal]:
    """Each invoice's outstanding amount (less its credit notes and the receipts allocated to
    it up to `end`) in its bucket; whatever was received or credited beyond what an invoice
    owed in CREDIT. The buckets add up to the closing balance exactly."""
    ageing = {name: Decimal("0.000") for name, _lo, _hi in BUCKETS}
    ageing[CREDIT] = Decimal("0.000")
    invoices = movements.filter(type=DocumentType.INVOICE)
    credited = _sums(
        Document.objects.filter(type=DocumentType.CREDIT_NOTE, invoice__in=invoices, issue_date__lte=end)
        .values_list("invoice")
        .annotate(s=Sum("total"))
        .order_by()
    )
    paid = _sums(
        Allocation.objects.filter(invoice__in=invoices, receipt__issue_date__lte=end)
        .values_list("invoice")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    rows = invoices.values_list("pk", "total", "due_date", "issue_date").iterator(chunk_size=STREAM_CHUNK)
    for pk, total, due_date, issue_date in rows:
        left = total - credited.get(pk, Decimal("0")) - paid.get(pk, Decimal("0"))
        if left <= 0:
            ageing[CREDIT] += left  # credited (a refund) beyond what was still owed
            continue
        days = (end - (due_date or issue_date)).days  # days past due
        for name, low, high in BUCKETS:
            if (low is None or days >= low) and (high is None or days <= high):
                ageing[name] += left
                break
    receipts = movements.filter(type=DocumentType.RECEIPT)
    received = receipts.aggregate(s=Sum("total"))["s"] or Decimal("0")
    allocated = Allocation.objects.filter(receipt__in=receipts).aggregate(s=Sum("amount"))["s"] or Decimal(
        "0"
    )
    ageing[CREDIT] -= received - allocated
    return ageing


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
        closing = Decimal(snapshot["closing_balance"])
        if abs(closing) > AMOUNT_MAX:
            raise Refused(_("The balance is too large for a statement."), field="customer")
        prepared = Prepared(
            licence=licence,
            type=DocumentType.STATEMENT,
            customer=customer,
            lines=[],
            subtotal=Decimal("0.000"),
            vat=Decimal("0.000"),
            total=closing,
            vat_groups=[],
            fields={"period_from": start, "period_to": end},
            extra={"statement": snapshot, "tamkeen_application_number": ""},
            references={},
        )
        document = _seal_and_store(actor=actor, prepared=prepared, now=now, numbers=numbers)
    return Issued(document=document, warnings=[])
