"""The stored rows of a document against its sealed payload.

A document's payload is hashed and signed, so it cannot change unnoticed; the rows beside it
(the document's columns, its lines, allocations and delivery-note links, the chain counter)
are what pages, the API, statements and support claims read, and triggers keep them as issued
(`documents.triggers`). Someone who switches the triggers off could still edit them: this
module compares them with the payload, field by field, in one place shared by online
verification (`verification`) and `khutwa documents-verify` (`chains`).

Payloads v1 and v2 are both handled: a member is compared when the payload has it (v2 lines
carry no per-line `vat` nor `total`; their columns are then NULL and not compared).

Reasons are English sentences. They name the field, and give the values only for what the
public verification page may show anyway (types, numbers, dates, amounts, codes): never a
customer's CPR, CR number or name, nor a line's description.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from khutwa.catalogue.models import Activity
from khutwa.documents.models import Allocation, Customer, Document, DocumentCounter, DocumentLine
from khutwa.licensing.models import Licence

#: At most this many line differences are listed; the rest are counted.
MAX_LINE_REASONS = 10


@dataclass(frozen=True)
class StoredRow:
    """A document's columns that its payload states too, as read by `ROW_COLUMNS`."""

    public_id: Any
    type: str
    number: str
    licence: str | None
    counter: int
    previous_hash: str
    issued_at: Any
    issue_date: Any
    currency: str
    subtotal: Any
    vat: Any
    total: Any
    customer_kind: str | None
    customer_cpr: str | None
    customer_cr_number: str | None
    customer_name_ar: str | None
    customer_name_en: str | None
    tamkeen_application_number: str
    valid_until: Any
    due_date: Any
    reason: str
    payment_method: str
    payment_reference: str
    period_from: Any
    period_to: Any
    invoice: str | None  # the number of the invoice a credit note corrects
    quotation: str | None  # the number of the quotation an invoice comes from

    @classmethod
    def width(cls) -> int:
        return len(fields(cls))


@dataclass(frozen=True)
class StoredLine:
    position: int
    activity: str | None
    description: str
    quantity: Any
    unit: str
    unit_price: Any
    discount: Any
    vat_category: str
    vat_rate: Any
    net: Any
    vat: Any
    total: Any
    item_code: str
    brand: str


@dataclass
class Related:
    """A document's other rows: its lines, the invoices a receipt pays, the delivery notes an
    invoice names."""

    lines: list[StoredLine] = field(default_factory=list)
    allocations: list[tuple[str | None, Any]] = field(default_factory=list)
    delivery_notes: list[str | None] = field(default_factory=list)


# SQL shared by the verdict (one document) and the chain walk (a licence's documents) ----------


@functools.cache
def row_columns() -> str:
    """The SELECT list of a `StoredRow`, over `row_from()`."""
    return (
        "d.public_id, d.type, d.number, l.number, d.counter, d.previous_hash, d.issued_at, "
        "d.issue_date, d.currency, d.subtotal, d.vat, d.total, "
        "c.kind, c.cpr, c.cr_number, c.name_ar, c.name_en, "
        "d.tamkeen_application_number, d.valid_until, d.due_date, d.reason, "
        "d.payment_method, d.payment_reference, d.period_from, d.period_to, iv.number, qu.number"
    )


@functools.cache
def row_from() -> str:
    """FROM and JOINs for `row_columns()`: d the document, l its licence."""
    document = Document._meta.db_table
    return (
        f"FROM {document} d JOIN {Licence._meta.db_table} l ON l.id = d.licence_id "
        f"LEFT JOIN {Customer._meta.db_table} c ON c.id = d.customer_id "
        f"LEFT JOIN {document} iv ON iv.id = d.invoice_id "
        f"LEFT JOIN {document} qu ON qu.id = d.quotation_id"
    )


_RELATED_SQL = """
SELECT d.id, 1, li.position, a.code, li.description, li.quantity, li.unit, li.unit_price, li.discount,
       li.vat_category, li.vat_rate, li.net, li.vat, li.total, li.item_code, li.brand
FROM {line} li JOIN {document} d ON d.id = li.document_id
     LEFT JOIN {activity} a ON a.id = li.activity_id
WHERE {where}
UNION ALL
SELECT d.id, 2, al.id, iv.number, NULL, al.amount, {nulls}
FROM {allocation} al JOIN {document} d ON d.id = al.receipt_id
     LEFT JOIN {document} iv ON iv.id = al.invoice_id
WHERE {where}
UNION ALL
SELECT d.id, 3, t.id, dn.number, NULL, NULL, {nulls}
FROM {links} t JOIN {document} d ON d.id = t.from_document_id
     LEFT JOIN {document} dn ON dn.id = t.to_document_id
WHERE {where}
ORDER BY 1, 2, 3
"""


@functools.cache
def related_sql(where: str) -> str:
    """Lines (kind 1), allocations (2) and delivery-note links (3) of the documents d matching
    `where` (its parameters are repeated for each of the three parts), in one statement."""
    return _RELATED_SQL.format(
        line=DocumentLine._meta.db_table,
        document=Document._meta.db_table,
        activity=Activity._meta.db_table,
        allocation=Allocation._meta.db_table,
        links=Document.delivery_notes.through._meta.db_table,
        nulls=", ".join(["NULL"] * 10),
        where=where,
    )


def related_of(rows: Iterable[Sequence[Any]]) -> dict[int, Related]:
    """Group the rows of `related_sql` by document id."""
    grouped: dict[int, Related] = {}
    for document_id, kind, position, code, description, amount, *rest in rows:
        related = grouped.setdefault(document_id, Related())
        if kind == 1:
            unit, unit_price, discount, category, rate, net, vat, total, item_code, brand = rest
            related.lines.append(
                StoredLine(
                    position,
                    code,
                    description,
                    amount,
                    unit,
                    unit_price,
                    discount,
                    category,
                    rate,
                    net,
                    vat,
                    total,
                    item_code,
                    brand,
                )
            )
        elif kind == 2:
            related.allocations.append((code, amount))
        else:
            related.delivery_notes.append(code)
    return grouped


@functools.cache
def counters_sql() -> str:
    return (
        f"SELECT type, year, last, last_hash FROM {DocumentCounter._meta.db_table} "  # noqa: S608
        "WHERE licence_id = %s"
    )


# Normalising what the database drivers return ---------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    """Amounts: Decimal (PostgreSQL), int or float (SQLite's NUMERIC affinity), or a payload
    string; None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _date(value: Any) -> str:
    """ISO date text ('' when empty): a date (PostgreSQL), text (SQLite) or a payload string."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _moment(value: Any) -> dt.datetime | None:
    try:
        if isinstance(value, str):  # SQLite keeps UTC as text; payloads carry an offset
            value = dt.datetime.fromisoformat(value)
        if not isinstance(value, dt.datetime):
            return None
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# The comparison ------------------------------------------------------------------------------


def _differs(label: str, stored: Any, sealed: Any, *, show: bool = True) -> str:
    if not show:
        return f"the stored {label} differs from the sealed {label}"
    return f"the stored {label} ({stored or 'none'}) differs from the sealed {label} ({sealed or 'none'})"


def _compare_amount(reasons: list[str], label: str, stored: Any, sealed: Any) -> None:
    a, b = _decimal(stored), _decimal(sealed)
    if a is None or b is None or a != b:
        shown = _text(stored)
        if a is not None and b is not None and a.is_finite() and b.is_finite():
            shown = str(a.quantize(b))  # as the payload writes it: 99 → 99.000
        reasons.append(_differs(label, shown, _text(sealed)))


def _compare_text(reasons: list[str], label: str, stored: Any, sealed: Any, *, show: bool = True) -> None:
    if _text(stored) != _text(sealed):
        reasons.append(_differs(label, _text(stored), _text(sealed), show=show))


def _compare_date(reasons: list[str], label: str, stored: Any, sealed: Any) -> None:
    if _date(stored) != _date(sealed):
        reasons.append(_differs(label, _date(stored), _date(sealed)))


# (payload member, StoredLine attribute, label, kind, always compared)
_LINE_FIELDS = (
    ("activity", "activity", "activity", "text", True),
    ("description", "description", "description", "secret", True),
    ("quantity", "quantity", "quantity", "amount", True),
    ("unit", "unit", "unit", "text", False),
    ("unit_price", "unit_price", "unit price", "amount", True),
    ("discount", "discount", "discount", "amount", True),
    ("vat_category", "vat_category", "VAT category", "text", True),
    ("vat_rate", "vat_rate", "VAT rate", "amount", True),
    ("net", "net", "net amount", "amount", True),
    ("vat", "vat", "VAT", "amount", False),
    ("total", "total", "total", "amount", False),
    ("item_code", "item_code", "item code", "text", False),
    ("brand", "brand", "brand", "secret", False),
)


def _line_reasons(stored: Sequence[StoredLine], sealed: Any) -> list[str]:
    sealed_lines = [_mapping(x) for x in sealed] if isinstance(sealed, list) else []
    reasons: list[str] = []
    if len(stored) != len(sealed_lines):
        reasons.append(f"the number of lines differs: {len(stored)} stored, {len(sealed_lines)} sealed")
    by_position = {line.position: line for line in stored}
    details: list[str] = []
    for position, line in enumerate(sealed_lines, start=1):
        row = by_position.pop(position, None)
        if row is None:
            details.append(f"line {position} is sealed but not stored (a deleted line)")
            continue
        found: list[str] = []
        for member, attribute, label, kind, always in _LINE_FIELDS:
            if not always and member not in line:
                continue
            value, seal = getattr(row, attribute), line.get(member)
            if kind == "amount":
                _compare_amount(found, label, value, seal)
            else:
                _compare_text(found, label, value, seal, show=kind == "text")
        details += [f"line {position}: {reason}" for reason in found]
    details += [
        f"line {position} is stored but not sealed (an added line)" for position in sorted(by_position)
    ]
    if len(details) > MAX_LINE_REASONS:
        more = len(details) - MAX_LINE_REASONS
        details = [*details[:MAX_LINE_REASONS], f"and {more} more differences in the lines"]
    return reasons + details


def _allocation_reasons(stored: Sequence[tuple[str | None, Any]], sealed: Any) -> list[str]:
    sealed_map: dict[str, Any] = {}
    for item in sealed if isinstance(sealed, list) else []:
        item = _mapping(item)
        sealed_map[_text(item.get("invoice"))] = item.get("amount")
    stored_map = {_text(number): amount for number, amount in stored}
    reasons: list[str] = []
    for number in sorted(set(sealed_map) | set(stored_map)):
        if number not in stored_map:
            reasons.append(f"the allocation to invoice {number} is sealed but not stored")
        elif number not in sealed_map:
            reasons.append(f"an allocation to invoice {number} is stored but not sealed")
        else:
            _compare_amount(
                reasons, f"allocation to invoice {number}", stored_map[number], sealed_map[number]
            )
    return reasons


def _customer_reasons(row: StoredRow, sealed: Any) -> list[str]:
    customer = _mapping(sealed)
    differing = [
        label
        for label, stored, member in (
            ("kind", row.customer_kind, "kind"),
            ("CPR", row.customer_cpr, "cpr"),
            ("CR number", row.customer_cr_number, "cr_number"),
            ("Arabic name", row.customer_name_ar, "name_ar"),
            ("English name", row.customer_name_en, "name_en"),
        )
        if _text(stored) != _text(customer.get(member))
    ]
    if row.customer_kind is None:
        return ["the stored customer is missing"]
    if differing:
        return [f"the stored customer differs from the sealed customer ({', '.join(differing)})"]
    return []


def stored_vs_sealed(row: StoredRow, related: Related, payload: Any) -> list[str]:
    """Why the stored rows do not say what the sealed payload says (empty when they do)."""
    if not isinstance(payload, Mapping):
        return []  # the seal check reports it
    reasons: list[str] = []
    chain = _mapping(payload.get("chain"))
    issuer = _mapping(payload.get("issuer"))
    _compare_text(reasons, "type", row.type, payload.get("type"))
    _compare_text(reasons, "number", row.number, payload.get("number"))
    if _uuid(row.public_id) != _uuid(payload.get("public_id")):
        reasons.append(_differs("public id", _text(row.public_id), _text(payload.get("public_id"))))
    _compare_text(reasons, "licence", row.licence, issuer.get("licence"))
    if chain.get("licence") != issuer.get("licence"):
        _compare_text(reasons, "licence", row.licence, chain.get("licence"))
    if row.counter != chain.get("counter"):
        reasons.append(_differs("counter", row.counter, chain.get("counter")))
    _compare_text(reasons, "previous hash", row.previous_hash, chain.get("previous_hash"))
    _compare_date(reasons, "issue date", row.issue_date, payload.get("issue_date"))
    stored_at, sealed_at = _moment(row.issued_at), _moment(payload.get("issued_at"))
    if stored_at is None or sealed_at is None or stored_at.replace(microsecond=0) != sealed_at:
        reasons.append(_differs("issue time", _text(row.issued_at), _text(payload.get("issued_at"))))
    _compare_text(reasons, "currency", row.currency, payload.get("currency"))
    for member in ("subtotal", "vat", "total"):
        _compare_amount(
            reasons, "VAT" if member == "vat" else member, getattr(row, member), payload.get(member)
        )
    reasons += _customer_reasons(row, payload.get("customer"))
    if "tamkeen_application_number" in payload:
        _compare_text(
            reasons,
            "Tamkeen application number",
            row.tamkeen_application_number,
            payload["tamkeen_application_number"],
            show=False,
        )
    for member in ("valid_until", "due_date"):
        if member in payload:
            _compare_date(reasons, member.replace("_", " "), getattr(row, member), payload[member] or "")
    if "reason" in payload:
        _compare_text(reasons, "reason", row.reason, payload["reason"], show=False)
    if "payment" in payload:
        payment = _mapping(payload["payment"])
        _compare_text(reasons, "payment method", row.payment_method, payment.get("method"))
        _compare_text(
            reasons, "payment reference", row.payment_reference, payment.get("reference"), show=False
        )
    if "statement" in payload:
        period = _mapping(_mapping(payload["statement"]).get("period"))
        _compare_date(reasons, "statement start", row.period_from, period.get("from"))
        _compare_date(reasons, "statement end", row.period_to, period.get("to"))
    references = _mapping(payload.get("references"))
    _compare_text(reasons, "corrected invoice", row.invoice or "", references.get("invoice") or "")
    _compare_text(reasons, "quotation", row.quotation or "", references.get("quotation") or "")
    stored_notes = sorted(_text(n) for n in related.delivery_notes)
    sealed_notes = references.get("delivery_notes") or []
    if not isinstance(sealed_notes, list) or stored_notes != sorted(_text(n) for n in sealed_notes):
        shown = ", ".join(sealed_notes) if isinstance(sealed_notes, list) else _text(sealed_notes)
        reasons.append(_differs("delivery-note list", ", ".join(stored_notes), shown))
    reasons += _allocation_reasons(related.allocations, references.get("allocations") or [])
    reasons += _line_reasons(related.lines, payload.get("lines") or [])
    return reasons


# The licence's chain counter ---------------------------------------------------------------


def chain_head_reasons(last: int | None, last_hash: str | None, head_hash: str | None) -> list[str]:
    """The licence's chain counter (`last`, `last_hash`) against the hash of its document
    numbered `last` (`head_hash`, None when there is none)."""
    if last is None:
        return ["the licence's chain counter is missing"]
    if head_hash is None:
        return [f"the licence's last document (counter {last}) is missing: it was deleted"]
    if head_hash != last_hash:
        return [f"the licence's chain counter does not hold the hash of its last document (counter {last})"]
    return []
