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

import contextlib
import datetime as dt
import functools
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any, NamedTuple

from khutwa.catalogue.models import Activity
from khutwa.documents.models import Allocation, Customer, Document, DocumentCounter, DocumentLine
from khutwa.licensing.models import Licence

#: At most this many line differences are listed; the rest are counted.
MAX_LINE_REASONS = 10


class StoredRow(NamedTuple):
    """A document's columns that its payload states too, as read by `stored_columns()`
    (tuples: built for every verification, on the hot path)."""

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
    tamkeen_application_number: str
    valid_until: Any
    due_date: Any
    reason: str
    payment_method: str
    payment_reference: str
    period_from: Any
    period_to: Any


class StoredLine(NamedTuple):
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
class Links:
    """The documents a document names: the invoice a credit note corrects, the quotation an
    invoice comes from, the delivery notes it covers (numbers)."""

    invoice: str | None = None
    quotation: str | None = None
    delivery_notes: list[str | None] = field(default_factory=list)


@dataclass
class Related:
    """A document's other rows: its lines and the invoices a receipt pays; and its `Links`,
    None when not read."""

    lines: list[StoredLine] = field(default_factory=list)
    allocations: list[tuple[str | None, Any]] = field(default_factory=list)
    links: Links | None = None


# SQL shared by the verdict (one document) and the chain walk (a licence's documents) ----------

# JSON functions by database: an aggregate over rows, an array of values, an exact number.
# Lines, allocations and delivery-note links come back as one JSON array each, inside the
# statement that reads the document: no second round trip on the public hot path.
_JSON = {
    "postgresql": ("json_agg({})", "json_build_array({})", "{}::text"),
    "sqlite": ("json_group_array({})", "json_array({})", "{}"),  # numbers stay REAL/INTEGER
}


def json_sql(vendor: str, kind: str, value: str) -> str:
    """`kind` is "agg", "array" or "number"."""
    return _JSON[vendor][("agg", "array", "number").index(kind)].format(value)


_STORED_COLUMNS = """d.public_id, d.type, d.number, l.number, d.counter, d.previous_hash, d.issued_at,
       d.issue_date, d.currency, d.subtotal, d.vat, d.total,
       c.kind, c.cpr, c.cr_number,
       d.tamkeen_application_number, d.valid_until, d.due_date, d.reason,
       d.payment_method, d.payment_reference, d.period_from, d.period_to,
       (SELECT {lines} FROM {line} li LEFT JOIN {activity} a ON a.id = li.activity_id
         WHERE li.document_id = d.id),
       (SELECT {allocations} FROM {allocation} al LEFT JOIN {document} x ON x.id = al.invoice_id
         WHERE al.receipt_id = d.id)"""
_LINK_COLUMNS = """,
       iv.number, qu.number,
       (SELECT {notes} FROM {links} t LEFT JOIN {document} x ON x.id = t.to_document_id
         WHERE t.from_document_id = d.id)"""

_LINE_COLUMNS = (
    "li.position, a.code, li.description, {quantity}, li.unit, {unit_price}, {discount}, li.vat_category, "
    "{vat_rate}, {net}, {vat}, {total}, li.item_code, li.brand"
)


@functools.cache
def stored_columns(vendor: str, *, links: bool) -> str:
    """The SELECT list that `stored_of` reads (over `stored_from()`): a `StoredRow`'s columns,
    the document's lines and allocations as JSON arrays, and with `links` its `Links`.

    Each link is one more reference to the documents table, which on PostgreSQL costs the
    planner about 80 µs each (the table has many indexes): the public verdict leaves them out,
    `khutwa documents-verify` reads them."""
    numbers = {
        name: json_sql(vendor, "number", f"li.{name}")
        for name in ("quantity", "unit_price", "discount", "vat_rate", "net", "vat", "total")
    }
    line = json_sql(vendor, "array", _LINE_COLUMNS.format(**numbers))
    allocation = json_sql(vendor, "array", "x.number, " + json_sql(vendor, "number", "al.amount"))
    template = _STORED_COLUMNS + (_LINK_COLUMNS if links else "")
    return template.format(
        lines=json_sql(vendor, "agg", line),
        allocations=json_sql(vendor, "agg", allocation),
        notes=json_sql(vendor, "agg", "x.number"),
        line=DocumentLine._meta.db_table,
        activity=Activity._meta.db_table,
        allocation=Allocation._meta.db_table,
        links=Document.delivery_notes.through._meta.db_table,
        document=Document._meta.db_table,
    )


@functools.cache
def stored_from(*, links: bool) -> str:
    """FROM and JOINs for `stored_columns()`: d the document, l its licence."""
    document = Document._meta.db_table
    joins = (
        f"FROM {document} d JOIN {Licence._meta.db_table} l ON l.id = d.licence_id "
        f"LEFT JOIN {Customer._meta.db_table} c ON c.id = d.customer_id"
    )
    if links:
        joins += f" LEFT JOIN {document} iv ON iv.id = d.invoice_id"
        joins += f" LEFT JOIN {document} qu ON qu.id = d.quotation_id"
    return joins


_ROW_WIDTH = len(StoredRow._fields)


def stored_width(*, links: bool) -> int:
    """How many values of a row `stored_of` reads."""
    return _ROW_WIDTH + 2 + (3 if links else 0)


def json_value(value: Any) -> Any:
    """A JSON column: parsed by psycopg, text from SQLite, None for an aggregate over no row."""
    return json.loads(value) if isinstance(value, str) else value


def stored_of(values: Sequence[Any], *, links: bool) -> tuple[StoredRow, Related]:
    """The `StoredRow` and `Related` of the values selected by `stored_columns()`."""
    row = StoredRow._make(values[:_ROW_WIDTH])
    lines, allocations = (json_value(v) or [] for v in values[_ROW_WIDTH : _ROW_WIDTH + 2])
    related = Related(
        lines=[StoredLine._make(line) for line in lines],
        allocations=[(number, amount) for number, amount in allocations],
    )
    if links:
        invoice, quotation, notes = values[_ROW_WIDTH + 2 : _ROW_WIDTH + 5]
        related.links = Links(invoice, quotation, list(json_value(notes) or []))
    return row, related


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
            with contextlib.suppress(InvalidOperation):  # beyond the context's precision
                shown = str(a.quantize(b))  # as the payload writes it: 99 → 99.000
        reasons.append(_differs(label, shown, _text(sealed)))


def _compare_text(reasons: list[str], label: str, stored: Any, sealed: Any, *, show: bool = True) -> None:
    if _text(stored) != _text(sealed):
        reasons.append(_differs(label, _text(stored), _text(sealed), show=show))


def _compare_date(reasons: list[str], label: str, stored: Any, sealed: Any) -> None:
    if _date(stored) != _date(sealed):
        reasons.append(_differs(label, _date(stored), _date(sealed)))


def _same_amount(stored: Any, sealed: Any) -> bool:
    """Equal as numbers. PostgreSQL's text of a numeric(…, 3) is already the payload's form;
    SQLite's REAL (or INTEGER) is the double nearest to the decimal, as `float()` of the text is
    (exact for amounts of fewer than 15 digits); Decimal otherwise."""
    if stored == sealed:
        return True
    if type(stored) in (float, int) and type(sealed) is str:
        try:
            return float(sealed) == stored
        except ValueError:
            return False
    try:
        return (Decimal(repr(stored)) if type(stored) is float else Decimal(stored)) == Decimal(sealed)
    except (ArithmeticError, TypeError, ValueError):
        return False


# (member of a payload line and attribute of StoredLine, label, kind, always compared): kinds are
# "amount", "text" and "secret" (text not repeated in reasons).
_LINE_FIELDS = (
    ("activity", "activity", "text", True),
    ("description", "description", "secret", True),
    ("quantity", "quantity", "amount", True),
    ("unit", "unit", "text", False),
    ("unit_price", "unit price", "amount", True),
    ("discount", "discount", "amount", True),
    ("vat_category", "VAT category", "text", True),
    ("vat_rate", "VAT rate", "amount", True),
    ("net", "net amount", "amount", True),
    ("vat", "VAT", "amount", False),
    ("total", "total", "amount", False),
    ("item_code", "item code", "text", False),
    ("brand", "brand", "secret", False),
)


_TEXTS = tuple(m for m, _label, kind, always in _LINE_FIELDS if always and kind != "amount")
_AMOUNTS = tuple(m for m, _label, kind, always in _LINE_FIELDS if always and kind == "amount")
_OPTIONAL = tuple((m, kind == "amount") for m, _label, kind, always in _LINE_FIELDS if not always)
_stored_texts, _stored_amounts = attrgetter(*_TEXTS), attrgetter(*_AMOUNTS)


def _line_same(row: StoredLine, line: Mapping[str, Any]) -> bool:
    """The common case, quickly: every compared member equal (`_line_differences` says which
    are not)."""
    if _stored_texts(row) != tuple(map(line.get, _TEXTS)):
        return False
    if not all(map(_same_amount, _stored_amounts(row), map(line.get, _AMOUNTS))):
        return False
    for member, is_amount in _OPTIONAL:
        if member in line:
            stored, sealed = getattr(row, member), line[member]
            if not (_same_amount(stored, sealed) if is_amount else (stored or "") == (sealed or "")):
                return False
    return True


def _line_differences(position: int, row: StoredLine, line: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for member, label, kind, always in _LINE_FIELDS:
        if not always and member not in line:
            continue
        stored, sealed = getattr(row, member), line.get(member)
        if kind == "amount":
            if not _same_amount(stored, sealed):
                _compare_amount(found, label, stored, sealed)
        elif (stored or "") != (sealed or ""):
            found.append(_differs(label, _text(stored), _text(sealed), show=kind == "text"))
    return [f"line {position}: {reason}" for reason in found]


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
        elif not _line_same(row, line):
            details += _line_differences(position, row, line)
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


def _link_reasons(links: Links, references: Mapping[str, Any]) -> list[str]:
    reasons: list[str] = []
    _compare_text(reasons, "corrected invoice", links.invoice or "", references.get("invoice") or "")
    _compare_text(reasons, "quotation", links.quotation or "", references.get("quotation") or "")
    stored = sorted(_text(n) for n in links.delivery_notes)
    sealed = references.get("delivery_notes") or []
    if not isinstance(sealed, list) or stored != sorted(_text(n) for n in sealed):
        shown = ", ".join(map(_text, sealed)) if isinstance(sealed, list) else _text(sealed)
        reasons.append(_differs("delivery-note list", ", ".join(stored), shown))
    return reasons


def _customer_reasons(row: StoredRow, sealed: Any) -> list[str]:
    """The customer is who the payload names: same kind and CPR or CR number, which never
    change. Names, address and VAT number may be edited in the holder's book after issue (the
    document shows them as sealed), so they are not compared."""
    customer = _mapping(sealed)
    differing = [
        label
        for label, stored, member in (
            ("kind", row.customer_kind, "kind"),
            ("CPR", row.customer_cpr, "cpr"),
            ("CR number", row.customer_cr_number, "cr_number"),
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
    if related.links is not None:
        reasons += _link_reasons(related.links, references)
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
