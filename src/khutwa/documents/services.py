"""Issuing official documents. Every document is checked against the licence's scope, takes
its gapless number and its place in the licence's chain inside the transaction that stores
it, and is sealed with the platform's Ed25519 key. A refused document consumes no number."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from khutwa.accounts.models import User
from khutwa.accounts.validators import validate_cr
from khutwa.audit.services import audit_record
from khutwa.catalogue.models import Activity
from khutwa.documents import money
from khutwa.documents.models import (
    PREFIXES,
    Allocation,
    Customer,
    CustomerKind,
    Document,
    DocumentCounter,
    DocumentLine,
    DocumentType,
    IdempotencyKey,
    PaymentMethod,
    QuotationResponse,
    VatCategory,
)
from khutwa.documents.selectors import addressed_to
from khutwa.documents.signing import signing_material
from khutwa.errors import NotFound, Refused
from khutwa.licensing.models import Licence, LicenceStatus
from khutwa.trust.canonical import canonical_json, sha256_hex
from khutwa.trust.seal import Facts, sign_seal

GENESIS = "0" * 64
LINE_TYPES = {
    DocumentType.QUOTATION,
    DocumentType.INVOICE,
    DocumentType.CREDIT_NOTE,
    DocumentType.DELIVERY_NOTE,
}
TURNOVER_WARNING = Decimal("0.80")


# Inputs ------------------------------------------------------------------------------


@dataclass
class LineInput:
    activity: str = ""
    description: str = ""
    quantity: str = ""
    unit: str = "piece"
    unit_price: str = ""
    discount: str = "0"
    vat_category: str = ""
    item_code: str = ""
    brand: str = ""


@dataclass
class DocumentInput:
    type: str = ""
    customer: int | None = None
    lines: list[LineInput] = field(default_factory=list)
    quotation: str = ""
    invoice: str = ""
    delivery_notes: list[str] = field(default_factory=list)
    allocations: list[tuple[str, str]] = field(default_factory=list)
    tamkeen_application_number: str = ""
    valid_until: dt.date | None = None
    due_date: dt.date | None = None
    reason: str = ""
    payment_method: str = ""
    payment_reference: str = ""
    payment_amount: str = ""


@dataclass
class Issued:
    document: Document
    warnings: list[str]


UNITS = ("piece", "kg", "hour", "day", "service", "other")


# Customers ---------------------------------------------------------------------------


def customer_create(
    *,
    actor: User,
    kind: str,
    cpr: str = "",
    cr_number: str = "",
    name_ar: str = "",
    name_en: str = "",
    address: str = "",
    phone: str = "",
    email: str = "",
    is_tamkeen_customer: bool = False,
) -> Customer:
    errors: dict[str, list[str]] = {}
    if kind not in CustomerKind.values:
        errors["kind"] = [_("Choose individual or business.")]
    cpr, cr_number = cpr.strip(), cr_number.strip()
    if kind == CustomerKind.INDIVIDUAL:
        if not cpr:
            errors["cpr"] = [_("An individual customer needs a CPR number.")]
        cr_number = ""
    if kind == CustomerKind.BUSINESS:
        try:
            validate_cr(cr_number)
        except ValidationError as exc:
            errors["cr_number"] = list(exc.messages)
        cpr = ""
    if not (name_ar.strip() or name_en.strip()):
        errors["name_ar"] = [_("Give the customer's name in Arabic or English.")]
    customer = Customer(
        owner=actor,
        kind=kind,
        cpr=cpr,
        cr_number=cr_number,
        name_ar=name_ar.strip(),
        name_en=name_en.strip(),
        address=address.strip(),
        phone=phone.strip(),
        email=email.strip(),
        is_tamkeen_customer=is_tamkeen_customer,
    )
    try:
        customer.full_clean(exclude=["owner"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            customer.save()
            audit_record(
                actor=actor,
                action="documents.customer.create",
                obj=customer,
                after={"kind": kind, "tamkeen": is_tamkeen_customer},
            )
    except IntegrityError:
        raise Refused(
            _("This customer is already in your book."), field="cpr" if cpr else "cr_number"
        ) from None
    return customer


# Scope -------------------------------------------------------------------------------


def active_licence(actor: User, today: dt.date) -> Licence:
    licence = (
        Licence.objects.filter(holder=actor)
        .select_related("tier", "governorate")
        .prefetch_related("activities")
        .order_by("-issued_at")
        .first()
    )
    if licence is None:
        raise Refused(_("You need a licence to issue official documents."), field="licence", status=403)
    if licence.status != LicenceStatus.ACTIVE:
        raise Refused(
            _("Licence %(number)s is %(status)s: it issues no documents.")
            % {"number": licence.number, "status": licence.get_status_display()},
            field="licence",
        )
    if not (licence.valid_from <= today <= licence.valid_until):
        raise Refused(
            _("Licence %(number)s is not valid on %(date)s.")
            % {"number": licence.number, "date": today.isoformat()},
            field="licence",
        )
    return licence


def turnover(licence: Licence, year: int) -> Decimal:
    """Invoiced in the calendar year, less credit notes (kept running on the year's invoice
    counter by `_take_numbers`)."""
    fils = (
        DocumentCounter.objects.filter(licence=licence, type=DocumentType.INVOICE, year=year)
        .values_list("turnover_fils", flat=True)
        .first()
    )
    return money.bhd(Decimal(fils or 0) / 1000)


def credited_amount(invoice: Document) -> Decimal:
    return invoice.credit_notes.aggregate(s=Sum("total"))["s"] or Decimal("0.000")


def paid_amount(invoice: Document) -> Decimal:
    return invoice.payments.aggregate(s=Sum("amount"))["s"] or Decimal("0.000")


def outstanding(invoice: Document) -> Decimal:
    return money.bhd(invoice.total - credited_amount(invoice) - paid_amount(invoice))


# Validation --------------------------------------------------------------------------


def _parse_lines(data: DocumentInput, licence: Licence, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    licensed = {a.code: a for a in licence.activities.all()}
    registered = bool(licence.vat_number)
    lines = []
    if data.type in LINE_TYPES and not data.lines:
        errors["lines"] = [_("Add at least one line.")]
    if len(data.lines) > 500:
        errors["lines"] = [_("A document has at most 500 lines.")]
    for i, line in enumerate(data.lines):
        prefix = f"lines[{i}]."

        def err(name: str, message: str, prefix: str = prefix) -> None:
            errors.setdefault(prefix + name, []).append(message)

        activity = licensed.get(line.activity)
        if activity is None:
            if Activity.objects.filter(code=line.activity).exists():
                err(
                    "activity",
                    _("Your licence does not cover the activity “%(code)s”.") % {"code": line.activity},
                )
            else:
                err("activity", _("Unknown activity “%(code)s”.") % {"code": line.activity})
        if not line.description.strip():
            err("description", _("Describe the item or service."))
        elif len(line.description) > 500:
            err("description", _("Ensure this value has at most %(max)s characters.") % {"max": 500})
        quantity = unit_price = discount = None
        try:
            quantity = money.parse_amount(line.quantity, allow_zero=False)
        except money.MoneyError:
            err("quantity", _("Enter a quantity above zero with at most 3 decimals."))
        try:
            unit_price = money.parse_amount(line.unit_price)
        except money.MoneyError:
            err("unit_price", _("Enter a price of zero or more with at most 3 decimals."))
        try:
            discount = money.parse_amount(line.discount or "0")
        except money.MoneyError:
            err("discount", _("Enter a discount of zero or more with at most 3 decimals."))
        if line.unit not in UNITS:
            err("unit", _("Choose a unit: %(units)s.") % {"units": ", ".join(UNITS)})
        category = line.vat_category or ("S" if registered else "O")
        if not registered and category != VatCategory.OUT_OF_SCOPE:
            err("vat_category", _("You are not VAT-registered: lines carry no VAT (category O)."))
        if registered and category not in ("S", "Z", "E"):
            err("vat_category", _("Choose the VAT category S, Z or E."))
        if quantity is not None and unit_price is not None and discount is not None:
            if discount > quantity * unit_price:
                err("discount", _("The discount is larger than the line."))
            rate = money.VAT_RATE if category == "S" else Decimal("0.00")
            amounts = money.line_amounts(
                quantity=quantity, unit_price=unit_price, discount=discount, vat_rate=rate
            )
            lines.append(
                {
                    "activity": activity,
                    "description": line.description.strip(),
                    "quantity": quantity,
                    "unit": line.unit,
                    "unit_price": unit_price,
                    "discount": discount,
                    "vat_category": category,
                    "vat_rate": rate,
                    "net": amounts.net,
                    "vat": amounts.vat,
                    "total": amounts.total,
                    "item_code": line.item_code.strip()[:50],
                    "brand": line.brand.strip()[:100],
                }
            )
    return lines


def _own_document(
    licence: Licence, public_id: str, type_: str, field_name: str, errors: dict[str, list[str]]
) -> Document | None:
    if not public_id:
        return None
    try:
        uuid.UUID(str(public_id))
    except ValueError:
        errors.setdefault(field_name, []).append(_("Not a document id."))
        return None
    document = Document.objects.filter(public_id=public_id, licence=licence, type=type_).first()
    if document is None:
        errors.setdefault(field_name, []).append(
            _("No such %(type)s of yours.") % {"type": DocumentType(type_).label}
        )
    return document


# Issuing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Numbers:
    """What `_take_numbers` hands out, under the lock of the licence's chain row."""

    chain_id: int
    counter: int  # the document's place in the licence's chain
    previous_hash: str
    number: int  # its gapless number for the type and year
    turnover: Decimal  # the year's turnover once this document is counted


_TAKE_SQL = (
    "UPDATE {table} SET "
    "last = last + CASE WHEN (type = 'chain' AND year = 0) OR (type = %s AND year = %s) THEN 1 ELSE 0 END, "
    "turnover_fils = turnover_fils + CASE WHEN type = 'invoice' AND year = %s THEN %s ELSE 0 END "
    "WHERE licence_id = %s AND ({keys}) "
    "RETURNING id, type, year, last, last_hash, turnover_fils"
)


def _take_numbers(licence: Licence, type_: str, year: int, turnover_delta: Decimal) -> Numbers:
    """Advance, in one `UPDATE … RETURNING`, the licence's chain counter, the type's counter for
    the year and the year's running turnover (the invoice row), creating missing rows first.
    The chain row's lock serialises issuing for the licence until the caller's transaction ends:
    every check made after this call (ceiling, what remains of an invoice) is made under it, and
    a refusal rolls the counters back, so that no number is consumed."""
    keys = {("chain", 0), (type_, year), ("invoice", year)}
    fils = int((turnover_delta * 1000).to_integral_value())
    rows = _advance(licence, type_, year, fils, keys)
    missing = keys - set(rows)
    if missing:
        DocumentCounter.objects.bulk_create(
            [DocumentCounter(licence=licence, type=t, year=y) for t, y in sorted(missing)],
            ignore_conflicts=True,
        )
        rows.update(_advance(licence, type_, year, fils, missing))
    chain_id, chain_last, last_hash, _ = rows[("chain", 0)]
    return Numbers(
        chain_id=chain_id,
        counter=chain_last,
        previous_hash=last_hash or GENESIS,
        number=rows[(type_, year)][1],
        turnover=Decimal(rows[("invoice", year)][3]) / 1000,
    )


def _advance(
    licence: Licence, type_: str, year: int, fils: int, keys: set[tuple[str, int]]
) -> dict[tuple[str, int], tuple[int, int, str, int]]:
    ordered = sorted(keys)
    sql = _TAKE_SQL.format(
        table=DocumentCounter._meta.db_table,
        keys=" OR ".join(["(type = %s AND year = %s)"] * len(ordered)),
    )
    params: list[Any] = [type_, year, year, fils, licence.pk]
    for kind, y in ordered:
        params += [kind, y]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(kind, y): (pk, last, last_hash, fils_) for pk, kind, y, last, last_hash, fils_ in cursor}


def _party(customer: Customer) -> dict[str, Any]:
    return {
        "kind": customer.kind,
        "cpr": customer.cpr or None,
        "cr_number": customer.cr_number or None,
        "name_ar": customer.name_ar,
        "name_en": customer.name_en,
        "address": customer.address,
        "is_tamkeen_customer": customer.is_tamkeen_customer,
    }


def _issuer(licence: Licence) -> dict[str, Any]:
    return {
        "licence": licence.number,
        "trade_name": licence.trade_name,
        "name_ar": licence.name_ar,
        "name_en": licence.name_en,
        "vat_number": licence.vat_number or None,
        "activities": sorted(a.code for a in licence.activities.all()),
        "address": {
            "building": licence.building,
            "road": licence.road,
            "block": licence.block,
            "area": licence.area,
            "governorate": licence.governorate.name_en,
        },
    }


def _seal_and_store(
    *,
    actor: User,
    licence: Licence,
    type_: str,
    customer: Customer,
    lines: list[dict[str, Any]],
    extra: dict[str, Any],
    fields: dict[str, Any],
    now: dt.datetime,
    references: dict[str, Any],
    numbers: Numbers,
    split: tuple[uuid.UUID, int] | None = None,
) -> Document:
    """Inside the transaction, with the numbers taken: payload, hash, seal, rows."""
    today = timezone.localtime(now).date()
    prefix = f"{PREFIXES[DocumentType(type_)]}-{today.year}-"
    number = f"{prefix}{numbers.number:06d}"
    if split is not None:
        # The pair is issued under the licence's lock, one after the other: the partner's
        # number is this one's neighbour (+1 for the first of the pair, -1 for the second).
        fields["split_group"] = split[0]
        references = {**references, "split_partner": f"{prefix}{numbers.number + split[1]:06d}"}
    previous_hash = numbers.previous_hash
    public_id = uuid.uuid4()
    subtotal = money.bhd(sum((ln["net"] for ln in lines), Decimal("0")))
    vat = money.bhd(sum((ln["vat"] for ln in lines), Decimal("0")))
    total = fields.pop("total", None)
    if total is None:
        total = subtotal + vat
    payload = {
        "v": 1,
        "type": type_,
        "public_id": str(public_id),
        "number": number,
        "issued_at": timezone.localtime(now).isoformat(timespec="seconds"),
        "issue_date": today.isoformat(),
        "currency": "BHD",
        "issuer": _issuer(licence),
        "customer": _party(customer),
        "lines": [
            {
                "activity": ln["activity"].code,
                "description": ln["description"],
                "quantity": money.text(ln["quantity"]),
                "unit": ln["unit"],
                "unit_price": money.text(ln["unit_price"]),
                "discount": money.text(ln["discount"]),
                "vat_category": ln["vat_category"],
                "vat_rate": f"{ln['vat_rate']:.2f}",
                "net": money.text(ln["net"]),
                "vat": money.text(ln["vat"]),
                "total": money.text(ln["total"]),
                "item_code": ln["item_code"],
                "brand": ln["brand"],
            }
            for ln in lines
        ],
        "subtotal": money.text(subtotal),
        "vat": money.text(vat),
        "total": money.text(total),
        "references": references,
        **extra,
        "chain": {"licence": licence.number, "counter": numbers.counter, "previous_hash": previous_hash},
    }
    digest = sha256_hex(canonical_json(payload))
    kid, key = signing_material()
    facts = Facts(
        type=type_,
        number=number,
        licence=licence.number,
        date=today.isoformat(),
        total=money.text(total),
        vat=money.text(vat),
        hash=digest,
        kid=kid,
    )
    signature = sign_seal(facts, key)
    document = Document(
        public_id=public_id,
        licence=licence,
        type=type_,
        number=number,
        counter=numbers.counter,
        previous_hash=previous_hash,
        hash=digest,
        signature=signature,
        kid=kid,
        payload=payload,
        issued_at=now,
        issue_date=today,
        customer=customer,
        subtotal=subtotal,
        vat=vat,
        total=total,
        issued_by=actor,
        **fields,
    )
    document.save(force_insert=True)
    DocumentCounter.objects.chain_head_record(chain_id=numbers.chain_id, last_hash=digest)
    DocumentLine.objects.bulk_create(
        [
            DocumentLine(
                document=document,
                position=i + 1,
                activity=ln["activity"],
                description=ln["description"],
                quantity=ln["quantity"],
                unit=ln["unit"],
                unit_price=ln["unit_price"],
                discount=ln["discount"],
                vat_category=ln["vat_category"],
                vat_rate=ln["vat_rate"],
                net=ln["net"],
                vat=ln["vat"],
                total=ln["total"],
                item_code=ln["item_code"],
                brand=ln["brand"],
            )
            for i, ln in enumerate(lines)
        ]
    )
    audit_record(
        actor=actor,
        action=f"documents.{type_}.issue",
        obj=document,
        after={"number": number, "total": money.text(total), "hash": digest, "counter": numbers.counter},
    )
    return document


def document_issue(
    *,
    actor: User,
    data: DocumentInput,
    now: dt.datetime | None = None,
    split: tuple[uuid.UUID, int] | None = None,
) -> Issued:
    """Validate everything, then issue in one transaction; raise ValidationError naming each
    bad field, or Refused for a rule (licence not active, ceiling, over-allocation)."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if data.type not in DocumentType.values or data.type == DocumentType.STATEMENT:
        raise ValidationError(
            {"type": [_("Choose quotation, invoice, credit_note, delivery_note or receipt.")]}
        )
    licence = active_licence(actor, today)
    errors: dict[str, list[str]] = {}
    customer = Customer.objects.filter(owner=actor, pk=data.customer).first() if data.customer else None
    if customer is None:
        errors["customer"] = [_("Choose one of your customers.")]
    lines = _parse_lines(data, licence, errors) if data.type in LINE_TYPES else []
    if data.type not in LINE_TYPES and data.lines:
        errors["lines"] = [_("A receipt has no lines; allocate it to invoices.")]
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    references: dict[str, Any] = {}
    tamkeen = data.tamkeen_application_number.strip()
    if len(tamkeen) > 30:
        errors["tamkeen_application_number"] = [
            _("Ensure this value has at most %(max)s characters.") % {"max": 30}
        ]
    quotation = invoice = None
    delivery_notes: list[Document] = []
    allocations: list[tuple[Document, Decimal]] = []
    if data.type == DocumentType.QUOTATION:
        if data.valid_until is None:
            errors["valid_until"] = [_("Give the date until which the quotation is valid.")]
        elif data.valid_until < today:
            errors["valid_until"] = [_("The validity date is in the past.")]
        fields["valid_until"] = data.valid_until
        extra["valid_until"] = data.valid_until.isoformat() if data.valid_until else ""
    if data.type == DocumentType.INVOICE:
        quotation = _own_document(
            licence, data.quotation, DocumentType.QUOTATION, "references.quotation", errors
        )
        for j, ref in enumerate(data.delivery_notes):
            note = _own_document(
                licence, ref, DocumentType.DELIVERY_NOTE, f"references.delivery_notes[{j}]", errors
            )
            if note:
                delivery_notes.append(note)
        if data.due_date and data.due_date < today:
            errors["due_date"] = [_("The due date is in the past.")]
        fields["due_date"] = data.due_date
        fields["quotation"] = quotation
        extra["due_date"] = data.due_date.isoformat() if data.due_date else ""
    if data.type == DocumentType.CREDIT_NOTE:
        invoice = _own_document(licence, data.invoice, DocumentType.INVOICE, "references.invoice", errors)
        if not data.invoice:
            errors["references.invoice"] = [_("A credit note names the invoice it corrects.")]
        if not data.reason.strip():
            errors["reason"] = [_("Give the reason for the credit note.")]
        fields["invoice"] = invoice
    if data.type in (DocumentType.CREDIT_NOTE,):
        fields["reason"] = data.reason.strip()[:2000]
        extra["reason"] = fields["reason"]
    if data.type == DocumentType.RECEIPT:
        amount = None
        if data.payment_method not in PaymentMethod.values:
            errors["payment.method"] = [_("Choose cash, bank_transfer, benefitpay or cheque.")]
        elif data.payment_method != PaymentMethod.CASH and not data.payment_reference.strip():
            errors["payment.reference"] = [_("Give the transfer, BenefitPay or cheque reference.")]
        try:
            amount = money.parse_amount(data.payment_amount, allow_zero=False)
        except money.MoneyError:
            errors["payment.amount"] = [_("Enter the amount received, above zero, with at most 3 decimals.")]
        if not data.allocations:
            errors["references.allocations"] = [_("Allocate the receipt to at least one invoice.")]
        seen: set[str] = set()
        for j, (ref, text) in enumerate(data.allocations):
            target = _own_document(
                licence, ref, DocumentType.INVOICE, f"references.allocations[{j}].invoice", errors
            )
            try:
                part = money.parse_amount(text, allow_zero=False)
            except money.MoneyError:
                errors.setdefault(f"references.allocations[{j}].amount", []).append(
                    _("Enter an amount above zero with at most 3 decimals.")
                )
                continue
            if target is not None:
                if ref in seen:
                    errors.setdefault(f"references.allocations[{j}].invoice", []).append(_("Listed twice."))
                seen.add(ref)
                if customer is not None and target.customer_id != customer.pk:
                    errors.setdefault(f"references.allocations[{j}].invoice", []).append(
                        _("This invoice is addressed to another customer.")
                    )
                allocations.append((target, part))
        if amount is not None and allocations and sum((p for _d, p in allocations), Decimal("0")) > amount:
            errors["references.allocations"] = [_("The allocations add up to more than the amount received.")]
        fields["payment_method"] = data.payment_method
        fields["payment_reference"] = data.payment_reference.strip()[:100]
        fields["total"] = amount
        extra["payment"] = {
            "method": data.payment_method,
            "reference": fields["payment_reference"],
            "amount": money.text(amount) if amount is not None else "",
        }
    if errors:
        raise ValidationError(errors)
    assert customer is not None  # noqa: S101 - checked above
    if tamkeen:
        fields["tamkeen_application_number"] = tamkeen
    extra["tamkeen_application_number"] = tamkeen
    references.update(
        {
            "quotation": quotation.number if quotation else "",
            "invoice": invoice.number if invoice else "",
            "delivery_notes": [d.number for d in delivery_notes],
            "allocations": [{"invoice": d.number, "amount": money.text(p)} for d, p in allocations],
        }
    )
    warnings: list[str] = []
    total = sum((ln["net"] + ln["vat"] for ln in lines), Decimal("0"))
    delta = {DocumentType.INVOICE: total, DocumentType.CREDIT_NOTE: -total}.get(DocumentType(data.type))
    with transaction.atomic():
        # The licence's chain row is the lock that serialises issuing for this licence: the
        # ceiling, what remains of an invoice and the numbers are all read under it.
        numbers = _take_numbers(licence, data.type, today.year, delta or Decimal("0"))
        if data.type == DocumentType.INVOICE:
            ceiling = licence.tier.turnover_ceiling
            after = numbers.turnover
            if after > ceiling:
                raise Refused(
                    _(
                        "This invoice would take your %(year)s turnover to %(after)s BHD, above your "
                        "%(tier)s tier's ceiling of %(ceiling)s BHD. Apply to move to a larger tier."
                    )
                    % {
                        "year": today.year,
                        "after": money.text(after),
                        "tier": licence.tier.name,
                        "ceiling": money.text(ceiling),
                    },
                    field="lines",
                )
            if after >= ceiling * TURNOVER_WARNING:
                warnings.append(
                    _(
                        "Your %(year)s turnover is now %(after)s BHD, over 80%% of your tier's ceiling of "
                        "%(ceiling)s BHD."
                    )
                    % {"year": today.year, "after": money.text(after), "ceiling": money.text(ceiling)}
                )
        if invoice is not None:
            remaining = money.bhd(invoice.total - credited_amount(invoice))
            if total > remaining:
                raise Refused(
                    _(
                        "The credit note (%(amount)s BHD) is more than what remains of invoice %(number)s "
                        "(%(remaining)s BHD)."
                    )
                    % {
                        "amount": money.text(total),
                        "number": invoice.number,
                        "remaining": money.text(remaining),
                    },
                    field="lines",
                )
        for j, (target, part) in enumerate(allocations):
            left = outstanding(target)
            if part > left:
                raise Refused(
                    _("Invoice %(number)s has %(left)s BHD outstanding; %(part)s BHD is too much.")
                    % {"number": target.number, "left": money.text(left), "part": money.text(part)},
                    field=f"references.allocations[{j}].amount",
                )
        document = _seal_and_store(
            actor=actor,
            licence=licence,
            type_=data.type,
            customer=customer,
            lines=lines,
            extra=extra,
            fields=fields,
            now=now,
            references=references,
            numbers=numbers,
            split=split,
        )
        if delivery_notes:
            document.delivery_notes.set(delivery_notes)
        Allocation.objects.bulk_create(
            [Allocation(receipt=document, invoice=t, amount=p) for t, p in allocations]
        )
    return Issued(document=document, warnings=warnings)


def document_issue_idempotent(
    *, actor: User, key: str, body: dict[str, Any], data: DocumentInput
) -> tuple[Issued, bool]:
    """Same key and body → the same document (and False: not new); same key, other body → 409."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    existing = IdempotencyKey.objects.filter(user=actor, key=key).first()
    if existing is not None:
        if existing.request_hash != digest:
            raise Refused(_("This Idempotency-Key was used with another request."), field="Idempotency-Key")
        document = Document.objects.get(public_id=existing.documents[0])
        return Issued(document=document, warnings=[]), False
    with transaction.atomic():
        issued = document_issue(actor=actor, data=data)
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    user=actor, key=key, request_hash=digest, documents=[str(issued.document.public_id)]
                )
        except IntegrityError:
            raise Refused(
                _("This Idempotency-Key is being used by another request."), field="Idempotency-Key"
            ) from None
    return issued, True


# Quotations ---------------------------------------------------------------------------


def quotation_respond(
    *, actor: User, quotation: Document, accept: bool, today: dt.date | None = None
) -> QuotationResponse:
    """The customer (the portal user the quotation is addressed to) accepts or declines."""
    today = today or timezone.localdate()
    if quotation.type != DocumentType.QUOTATION or not addressed_to(actor, quotation.customer):
        raise NotFound(_("Not found."))
    if hasattr(quotation, "response"):
        raise Refused(_("This quotation was already answered."))
    if quotation.valid_until and quotation.valid_until < today:
        raise Refused(_("This quotation expired on %(date)s.") % {"date": quotation.valid_until.isoformat()})
    with transaction.atomic():
        response = QuotationResponse.objects.create(
            quotation=quotation, answer="accepted" if accept else "declined", by=actor, at=timezone.now()
        )
        audit_record(actor=actor, action=f"documents.quotation.{response.answer}", obj=quotation)
    return response


def quotation_to_invoice(
    *, actor: User, quotation: Document, due_date: dt.date | None = None, now: dt.datetime | None = None
) -> Issued:
    """An accepted, unexpired quotation becomes an invoice in one step (same lines)."""
    now = now or timezone.now()
    data = _invoice_of(actor, quotation, timezone.localtime(now).date(), due_date)
    return document_issue(actor=actor, data=data, now=now)


def quotation_to_split_invoices(
    *,
    actor: User,
    quotation: Document,
    tamkeen_rate: Decimal,
    tamkeen_application_number: str,
    now: dt.datetime | None = None,
) -> tuple[Issued, Issued]:
    """The same, split: Tamkeen's share invoiced to Tamkeen, the rest to the customer."""
    now = now or timezone.now()
    data = _invoice_of(actor, quotation, timezone.localtime(now).date(), None)
    data.tamkeen_application_number = tamkeen_application_number
    return invoice_split(actor=actor, data=data, tamkeen_rate=tamkeen_rate, now=now)


def _invoice_of(actor: User, quotation: Document, today: dt.date, due_date: dt.date | None) -> DocumentInput:
    """The invoice input for a quotation that may still be invoiced (refused otherwise)."""
    if quotation.type != DocumentType.QUOTATION or quotation.licence.holder_id != actor.pk:
        raise NotFound(_("Not found."))
    if quotation.valid_until and quotation.valid_until < today:
        raise Refused(
            _("This quotation expired on %(date)s; issue a new one.")
            % {"date": quotation.valid_until.isoformat()},
            field="references.quotation",
        )
    response = getattr(quotation, "response", None)
    if response is not None and response.answer == "declined":
        raise Refused(_("The customer declined this quotation."), field="references.quotation")
    if Document.objects.filter(quotation=quotation, type=DocumentType.INVOICE).exists():
        raise Refused(_("This quotation was already invoiced."), field="references.quotation")
    lines = [
        LineInput(
            activity=ln.activity.code,
            description=ln.description,
            quantity=str(ln.quantity),
            unit=ln.unit,
            unit_price=str(ln.unit_price),
            discount=str(ln.discount),
            vat_category=ln.vat_category,
            item_code=ln.item_code,
            brand=ln.brand,
        )
        for ln in quotation.lines.select_related("activity")
    ]
    return DocumentInput(
        type=DocumentType.INVOICE,
        customer=quotation.customer_id,
        lines=lines,
        quotation=str(quotation.public_id),
        due_date=due_date,
        tamkeen_application_number=quotation.tamkeen_application_number,
    )


def tamkeen_customer(actor: User) -> Customer:
    """The holder's book entry for the Labour Fund itself (created on first split invoice)."""
    customer, _created = Customer.objects.get_or_create(
        owner=actor,
        kind=CustomerKind.BUSINESS,
        cr_number=settings.KHUTWA_TAMKEEN_CR,
        defaults={"name_ar": "صندوق العمل «تمكين»", "name_en": "Labour Fund (Tamkeen)", "is_tamkeen": True},
    )
    return customer


def invoice_split(
    *, actor: User, data: DocumentInput, tamkeen_rate: Decimal, now: dt.datetime | None = None
) -> tuple[Issued, Issued]:
    """Split invoicing: Tamkeen's share invoiced to Tamkeen, the rest to the customer, issued
    together, each naming the other. Each line is split by the rate, Tamkeen's share rounded
    half-up and the customer's the remainder, so the two add up to the whole."""
    if not (Decimal("0") < tamkeen_rate < Decimal("1")):
        raise ValidationError({"tamkeen_rate": [_("The Tamkeen share is between 0 and 100%.")]})
    if not data.tamkeen_application_number.strip():
        raise ValidationError(
            {"tamkeen_application_number": [_("Split invoices carry the Tamkeen application number.")]}
        )
    group = uuid.uuid4()
    tamkeen_lines: list[LineInput] = []
    customer_lines: list[LineInput] = []
    for line in data.lines:
        try:
            price = money.parse_amount(line.unit_price)
            quantity = money.parse_amount(line.quantity, allow_zero=False)
            discount = money.parse_amount(line.discount or "0")
        except money.MoneyError:
            document_issue(actor=actor, data=data)  # reports the field errors
            raise
        net = money.bhd(quantity * price - discount)
        share = money.bhd(net * tamkeen_rate)
        for target, amount in ((tamkeen_lines, share), (customer_lines, net - share)):
            target.append(
                LineInput(
                    activity=line.activity,
                    description=line.description,
                    quantity="1",
                    unit="service" if line.unit == "service" else line.unit,
                    unit_price=money.text(amount),
                    discount="0",
                    vat_category=line.vat_category,
                    item_code=line.item_code,
                    brand=line.brand,
                )
            )
    with transaction.atomic():
        tamkeen = tamkeen_customer(actor)
        first = document_issue(
            actor=actor,
            data=DocumentInput(
                type=DocumentType.INVOICE,
                customer=tamkeen.pk,
                lines=tamkeen_lines,
                quotation=data.quotation,
                tamkeen_application_number=data.tamkeen_application_number,
                due_date=data.due_date,
            ),
            now=now,
            split=(group, +1),
        )
        second = document_issue(
            actor=actor,
            data=DocumentInput(
                type=DocumentType.INVOICE,
                customer=data.customer,
                lines=customer_lines,
                quotation=data.quotation,
                tamkeen_application_number=data.tamkeen_application_number,
                due_date=data.due_date,
            ),
            now=now,
            split=(group, -1),
        )
    return first, second
