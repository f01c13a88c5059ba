"""Issuing official documents. Every document is checked against the licence's scope, takes
its gapless number and its place in the licence's chain inside the transaction that stores
it, and is sealed with the platform's Ed25519 key. A refused document consumes no number."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from khutwa import prebuilt
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
from khutwa.documents.pdf import check_renderable
from khutwa.documents.scope import latest_licence_with_scope, latest_licence_with_scope_and_subscribers
from khutwa.documents.selectors import addressed_to
from khutwa.documents.signing import signing_material
from khutwa.documents.tasks import document_pdf_render
from khutwa.errors import NotFound, Refused
from khutwa.jobs.services import task_enqueue_with_transaction
from khutwa.licensing.models import Licence, LicenceStatus
from khutwa.notifications.services import quotation_to_accept
from khutwa.prebuilt import insert_instance
from khutwa.text import holds_bidi, strip_bidi, without_bidi
from khutwa.tlog.services import document_log
from khutwa.trust.seal import seal_payload_canonical
from khutwa.webhooks import payloads as webhook_payloads
from khutwa.webhooks.services import events_emit

GENESIS = "0" * 64
#: Documents issued from now on (docs/document-format.md); version 1 documents stay as issued.
PAYLOAD_VERSION = 2
LINE_TYPES = {
    DocumentType.QUOTATION,
    DocumentType.INVOICE,
    DocumentType.CREDIT_NOTE,
    DocumentType.DELIVERY_NOTE,
}
TURNOVER_WARNING = Decimal("0.80")
#: Above this, a tax invoice to a VAT-registered buyer is a full one (not simplified).
SIMPLIFIED_TAX_INVOICE_MAX = Decimal("500.000")
#: The most lines a document of each type may carry (docs/document-format.md, "Limits"): its
#: PDF is rendered in one request, so its length is bounded.
MAX_LINES_BY_TYPE = {
    DocumentType.QUOTATION: 100,
    DocumentType.INVOICE: 100,
    DocumentType.CREDIT_NOTE: 100,
    DocumentType.DELIVERY_NOTE: 100,
}
#: The most lines any document may carry (the API schema and the portal form read no more).
MAX_LINES = max(MAX_LINES_BY_TYPE.values())


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
    #: Invoicing part of a quotation (or of delivery notes): a later invoice may invoice the rest.
    partial: bool = False
    #: Why the invoice differs from (exceeds) what it cites; required to exceed it.
    difference_reason: str = ""


@dataclass
class Issued:
    document: Document
    warnings: list[str]


UNITS = ("piece", "kg", "hour", "day", "service", "other")
# What pages show for each unit (the payload keeps the code).
UNIT_LABELS = {
    "piece": pgettext_lazy("unit", "piece"),
    "kg": pgettext_lazy("unit", "kg"),
    "hour": pgettext_lazy("unit", "hour"),
    "day": pgettext_lazy("unit", "day"),
    "service": pgettext_lazy("unit", "service"),
    "other": pgettext_lazy("unit", "other"),
}


def _limit(model: type[models.Model], name: str) -> Decimal:
    """The largest amount the column holds: one rule for every amount, checked before anything
    is taken (a quantity, price or total the database cannot store is refused, not a 500)."""
    column = model._meta.get_field(name)
    assert isinstance(column, models.DecimalField)  # noqa: S101 - amounts are decimals
    return money.column_limit(column.max_digits or 14, column.decimal_places or 3)


LINE_INPUT_MAX = _limit(DocumentLine, "unit_price")  # also quantity and discount
LINE_NET_MAX = _limit(DocumentLine, "net")
AMOUNT_MAX = _limit(Document, "total")


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
    vat_number: str = "",
    is_tamkeen_customer: bool = False,
) -> Customer:
    name_ar, name_en, address = strip_bidi(name_ar), strip_bidi(name_en), strip_bidi(address)
    errors: dict[str, list[str]] = {}
    if kind not in CustomerKind.values:
        errors["kind"] = [_("Choose individual or business.")]
    cpr, cr_number, vat_number = cpr.strip(), cr_number.strip(), vat_number.strip()
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
        vat_number=vat_number,
        is_tamkeen_customer=is_tamkeen_customer,
    )
    _check_customer(customer, errors)
    try:
        with transaction.atomic():
            customer.save()
            audit_record(
                actor=actor,
                action="documents.customer.create",
                obj=customer,
                after={"kind": kind, "tamkeen": is_tamkeen_customer, "vat_registered": bool(vat_number)},
            )
    except IntegrityError:
        raise Refused(
            _("This customer is already in your book."), field="cpr" if cpr else "cr_number"
        ) from None
    return customer


def _check_customer(customer: Customer, errors: dict[str, list[str]]) -> None:
    """The entry's own field checks (CPR, VAT number, lengths) added to `errors`; raise them."""
    try:
        customer.full_clean(exclude=["owner"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


CUSTOMER_EDITABLE = ("name_ar", "name_en", "address", "phone", "email", "vat_number", "is_tamkeen_customer")


def customer_update(*, actor: User, customer: Customer, **changes: Any) -> Customer:
    """Edit an entry of the holder's customer book: names, address, contacts, VAT number (the
    CPR or CR, which identify the customer, do not change). Documents already issued keep the
    customer as they sealed it."""
    if customer.owner_id != actor.pk or customer.is_tamkeen:
        raise NotFound(_("Not found."))
    unknown = set(changes) - set(CUSTOMER_EDITABLE)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in sorted(unknown)})
    for name, value in changes.items():
        setattr(customer, name, strip_bidi(value).strip() if isinstance(value, str) else bool(value))
    errors: dict[str, list[str]] = {}
    if not (customer.name_ar or customer.name_en):
        errors["name_ar"] = [_("Give the customer's name in Arabic or English.")]
    try:
        _check_customer(customer, errors)
    except ValidationError:
        customer.refresh_from_db()
        raise
    with transaction.atomic():
        customer.save(update_fields=list(changes))
        audit_record(
            actor=actor,
            action="documents.customer.update",
            obj=customer,
            after={"changed": sorted(changes)},  # which fields, not the personal data itself
        )
    return customer


# Scope -------------------------------------------------------------------------------


#: `_prepare` reads the customer itself unless given one (or None: not the actor's).
_READ_CUSTOMER: Any = object()


def _issuing_scope(
    actor: User, today: dt.date, customer_id: int | None
) -> tuple[Licence, Customer | None, bool]:
    """The licence that may issue today, with its scope, the actor's customer `customer_id`
    (None if not theirs) and whether a webhook subscription may want its documents' events: one
    statement (`documents.scope`), the ORM for a licence it does not find (none issued so)."""
    licence, customer, subscribed = latest_licence_with_scope_and_subscribers(actor.pk, customer_id)
    if licence is None:
        return active_licence(actor, today), _READ_CUSTOMER, True
    return _check_can_issue(licence, today), customer, subscribed


def active_licence(actor: User, today: dt.date) -> Licence:
    licence, _customer = latest_licence_with_scope(actor.pk)
    if licence is None:
        licence = (
            Licence.objects.filter(holder=actor)
            .select_related("tier", "governorate")
            .prefetch_related("activities")
            .order_by("-issued_at")
            .first()
        )
    return _check_can_issue(licence, today)


def _check_can_issue(licence: Licence | None, today: dt.date) -> Licence:
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
    """The net (VAT excluded) amount invoiced in the calendar year, less the credit notes of
    that year's invoices (kept running on the year's invoice counter by `_take_numbers`)."""
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


@dataclass
class Prepared:
    """A document checked in everything that needs no lock, ready to be numbered and sealed."""

    licence: Licence
    type: str
    customer: Customer
    lines: list[dict[str, Any]]
    subtotal: Decimal
    vat: Decimal
    total: Decimal
    vat_groups: list[money.VatGroup]
    fields: dict[str, Any]
    extra: dict[str, Any]
    references: dict[str, Any]
    quotation: Document | None = None
    invoice: Document | None = None
    delivery_notes: list[Document] = field(default_factory=list)
    allocations: list[tuple[Document, Decimal]] = field(default_factory=list)
    partial: bool = False
    difference_reason: str = ""
    #: The amount of the sale this document invoices (a split pair: both shares together).
    sale_total: Decimal = Decimal("0.000")
    #: Whether the quotation and delivery notes are checked when this document is issued (the
    #: second invoice of a split pair is checked with the first, as one sale).
    checks_references: bool = True
    warnings: list[str] = field(default_factory=list)
    #: Whether a webhook subscription may want this document's events (read with the scope:
    #: when none may, no event is stored; unknown is True).
    subscribed: bool = True

    @property
    def turnover_delta(self) -> tuple[Decimal, int | None]:
        """What this document adds to a year's turnover (net of VAT) and which year: an
        invoice adds to its own year, a credit note takes off from its invoice's year."""
        if self.type == DocumentType.INVOICE:
            return self.subtotal, None
        if self.type == DocumentType.CREDIT_NOTE and self.invoice is not None:
            return -self.subtotal, self.invoice.issue_date.year
        return Decimal("0"), None


def _parse_lines(data: DocumentInput, licence: Licence, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    licensed = {a.code: a for a in licence.activities.all()}
    registered = bool(licence.vat_number)
    lines = []
    if data.type in LINE_TYPES and not data.lines:
        errors["lines"] = [_("Add at least one line.")]
    limit = (
        MAX_LINES_BY_TYPE.get(DocumentType(data.type), MAX_LINES) if data.type in LINE_TYPES else MAX_LINES
    )
    if len(data.lines) > limit:
        errors["lines"] = [
            _("A document of this type has at most %(max)s lines; split it into several documents.")
            % {"max": limit}
        ]
        return []  # nothing more is read of a document that cannot be issued
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
        too_large = _("At most %(max)s.") % {"max": money.text(LINE_INPUT_MAX)}
        quantity = unit_price = discount = None
        try:
            quantity = money.parse_amount(line.quantity, allow_zero=False, maximum=LINE_INPUT_MAX)
        except money.MoneyError:
            err("quantity", _("Enter a quantity above zero with at most 3 decimals.") + " " + too_large)
        try:
            unit_price = money.parse_amount(line.unit_price, maximum=LINE_INPUT_MAX)
        except money.MoneyError:
            err("unit_price", _("Enter a price of zero or more with at most 3 decimals.") + " " + too_large)
        try:
            discount = money.parse_amount(line.discount or "0", maximum=LINE_INPUT_MAX)
        except money.MoneyError:
            err("discount", _("Enter a discount of zero or more with at most 3 decimals.") + " " + too_large)
        if line.unit not in UNITS:
            err("unit", _("Choose a unit: %(units)s.") % {"units": ", ".join(UNITS)})
        category = line.vat_category or ("S" if registered else "O")
        if not registered and category != VatCategory.OUT_OF_SCOPE:
            err("vat_category", _("You are not VAT-registered: lines carry no VAT (category O)."))
        if registered and category not in ("S", "Z", "E"):
            err("vat_category", _("Choose the VAT category S, Z or E."))
        if quantity is None or unit_price is None or discount is None:
            continue
        if discount > quantity * unit_price:
            err("discount", _("The discount is larger than the line."))
            continue
        net = money.line_net(quantity=quantity, unit_price=unit_price, discount=discount)
        if net > LINE_NET_MAX:
            err(
                "unit_price",
                _("The line's amount is too large (at most %(max)s).") % {"max": money.text(LINE_NET_MAX)},
            )
            continue
        lines.append(
            {
                "activity": activity,
                "description": line.description.strip(),
                "quantity": quantity,
                "unit": line.unit,
                "unit_price": unit_price,
                "discount": discount,
                "vat_category": category,
                "vat_rate": money.VAT_RATE if category == "S" else Decimal("0.00"),
                "net": net,
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


def _totals(lines: list[dict[str, Any]]) -> tuple[list[money.VatGroup], Decimal, Decimal]:
    groups = money.vat_breakdown((ln["vat_category"], ln["vat_rate"], ln["net"]) for ln in lines)
    subtotal = money.bhd(sum((g.taxable for g in groups), Decimal("0")))
    vat = money.bhd(sum((g.vat for g in groups), Decimal("0")))
    return groups, subtotal, vat


def _prepare(
    *, actor: User, data: DocumentInput, licence: Licence, today: dt.date, customer: Any = _READ_CUSTOMER
) -> Prepared:
    """Check everything that needs no lock; raise ValidationError naming each bad field."""
    errors: dict[str, list[str]] = {}
    if customer is _READ_CUSTOMER:
        customer = Customer.objects.filter(owner=actor, pk=data.customer).first() if data.customer else None
    if customer is None and not (data.type == DocumentType.CREDIT_NOTE and data.customer is None):
        errors["customer"] = [_("Choose one of your customers.")]
    lines = _parse_lines(data, licence, errors) if data.type in LINE_TYPES else []
    if data.type not in LINE_TYPES and data.lines:
        errors["lines"] = [_("A receipt has no lines; allocate it to invoices.")]
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    tamkeen = data.tamkeen_application_number.strip()
    if len(tamkeen) > 30:
        errors["tamkeen_application_number"] = [
            _("Ensure this value has at most %(max)s characters.") % {"max": 30}
        ]
    difference = data.difference_reason.strip()
    if len(difference) > 500:
        errors["references.difference_reason"] = [
            _("Ensure this value has at most %(max)s characters.") % {"max": 500}
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
        if quotation is not None:
            _check_quotation_cited(quotation, customer, today, errors)
        for j, ref in enumerate(data.delivery_notes):
            name = f"references.delivery_notes[{j}]"
            note = _own_document(licence, ref, DocumentType.DELIVERY_NOTE, name, errors)
            if note is None:
                continue
            if note in delivery_notes:
                errors.setdefault(name, []).append(_("Listed twice."))
            elif customer is not None and note.customer_id != customer.pk:
                errors.setdefault(name, []).append(_("This delivery note is addressed to another customer."))
            delivery_notes.append(note)
        if data.due_date and data.due_date < today:
            errors["due_date"] = [_("The due date is in the past.")]
        fields["due_date"] = data.due_date
        fields["quotation"] = quotation
        extra["due_date"] = data.due_date.isoformat() if data.due_date else ""
    elif data.partial or difference:
        errors["references.partial"] = [_("Only an invoice invoices part of a quotation.")]
    if data.type == DocumentType.CREDIT_NOTE:
        invoice = _own_document(licence, data.invoice, DocumentType.INVOICE, "references.invoice", errors)
        if not data.invoice:
            errors["references.invoice"] = [_("A credit note names the invoice it corrects.")]
        if invoice is not None:
            if customer is None:
                customer = invoice.customer
            elif customer.pk != invoice.customer_id:
                errors["customer"] = [
                    _("A credit note is addressed to its invoice's customer (%(name)s).")
                    % {"name": str(invoice.customer)}
                ]
        if not data.reason.strip():
            errors["reason"] = [_("Give the reason for the credit note.")]
        fields["invoice"] = invoice
        fields["reason"] = data.reason.strip()[:2000]
        extra["reason"] = fields["reason"]
    total: Decimal | None = None
    if data.type == DocumentType.RECEIPT:
        if data.payment_method not in PaymentMethod.values:
            errors["payment.method"] = [_("Choose cash, bank_transfer, benefitpay or cheque.")]
        elif data.payment_method != PaymentMethod.CASH and not data.payment_reference.strip():
            errors["payment.reference"] = [_("Give the transfer, BenefitPay or cheque reference.")]
        try:
            total = money.parse_amount(data.payment_amount, allow_zero=False, maximum=AMOUNT_MAX)
        except money.MoneyError:
            errors["payment.amount"] = [
                _("Enter the amount received, above zero, with at most 3 decimals.")
                + " "
                + _("At most %(max)s.") % {"max": money.text(AMOUNT_MAX)}
            ]
        if not data.allocations:
            errors["references.allocations"] = [_("Allocate the receipt to at least one invoice.")]
        seen: set[str] = set()
        for j, (ref, text) in enumerate(data.allocations):
            target = _own_document(
                licence, ref, DocumentType.INVOICE, f"references.allocations[{j}].invoice", errors
            )
            try:
                part = money.parse_amount(text, allow_zero=False, maximum=AMOUNT_MAX)
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
        if total is not None and allocations and sum((p for _d, p in allocations), Decimal("0")) > total:
            errors["references.allocations"] = [_("The allocations add up to more than the amount received.")]
        fields["payment_method"] = data.payment_method
        fields["payment_reference"] = data.payment_reference.strip()[:100]
        extra["payment"] = {
            "method": data.payment_method,
            "reference": fields["payment_reference"],
            "amount": money.text(total) if total is not None else "",
        }
    groups, subtotal, vat = _totals(lines)
    if total is None:
        total = subtotal + vat
    if (
        data.type == DocumentType.INVOICE
        and licence.vat_number
        and customer is not None
        and customer.vat_number
        and total > SIMPLIFIED_TAX_INVOICE_MAX
        and not customer.address.strip()
    ):
        # A full tax invoice (a VAT-registered buyer, above the simplified invoice's limit)
        # shows the buyer's address (VAT Executive Regulations, docs/document-format.md §11).
        errors["customer"] = [
            _(
                "A tax invoice of more than %(max)s BHD to a VAT-registered customer shows the "
                "customer's address: add it to the customer's entry in your book."
            )
            % {"max": money.text(SIMPLIFIED_TAX_INVOICE_MAX)}
        ]
    if total > AMOUNT_MAX and "lines" not in errors:
        errors["lines"] = [
            _("The document's total is too large (at most %(max)s).") % {"max": money.text(AMOUNT_MAX)}
        ]
    if errors:
        raise ValidationError(errors)
    assert customer is not None  # noqa: S101 - checked above
    if tamkeen:
        fields["tamkeen_application_number"] = tamkeen
    extra["tamkeen_application_number"] = tamkeen
    return Prepared(
        licence=licence,
        type=data.type,
        customer=customer,
        lines=lines,
        subtotal=subtotal,
        vat=vat,
        total=total,
        vat_groups=groups,
        fields=fields,
        extra=extra,
        references={
            "quotation": quotation.number if quotation else "",
            "invoice": invoice.number if invoice else "",
            "delivery_notes": [d.number for d in delivery_notes],
            "allocations": [{"invoice": d.number, "amount": money.text(p)} for d, p in allocations],
        },
        quotation=quotation,
        invoice=invoice,
        delivery_notes=delivery_notes,
        allocations=allocations,
        partial=data.partial,
        difference_reason=difference,
        sale_total=total,
    )


def _check_quotation_cited(
    quotation: Document, customer: Customer | None, today: dt.date, errors: dict[str, list[str]]
) -> None:
    """An invoice cites a quotation of the same customer that was not declined, and that was
    accepted or is still valid. (What was already invoiced is checked under the lock.)"""
    name = "references.quotation"
    if customer is not None and quotation.customer_id != customer.pk:
        errors.setdefault(name, []).append(_("This quotation is addressed to another customer."))
    response = getattr(quotation, "response", None)
    if response is not None and response.answer == QuotationResponse.Answer.DECLINED:
        errors.setdefault(name, []).append(_("The customer declined this quotation."))
    elif response is None and quotation.valid_until and quotation.valid_until < today:
        errors.setdefault(name, []).append(
            _("This quotation expired on %(date)s; issue a new one.")
            % {"date": quotation.valid_until.isoformat()}
        )


# Issuing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Numbers:
    """What `_take_numbers` hands out, under the lock of the licence's chain row."""

    chain_id: int
    counter: int  # the document's place in the licence's chain
    previous_hash: str
    number: int  # its gapless number for the type and year
    turnover: Decimal  # the turnover of the year the document counts in, once it is counted


_TAKE_SQL = (
    "UPDATE {table} SET "
    "last = last + CASE WHEN (type = 'chain' AND year = 0) OR (type = %s AND year = %s) THEN 1 ELSE 0 END, "
    "turnover_fils = turnover_fils + CASE WHEN type = 'invoice' AND year = %s THEN %s ELSE 0 END "
    "WHERE {where} "
    "RETURNING id, type, year, last, last_hash, turnover_fils"
)
_TAKE_WHERE = "licence_id = %s AND ({keys})"
# PostgreSQL locks the rows an UPDATE changes in the order it scans them, which on a small
# table is their physical order: two issuers could take the chain row and a type's row in
# opposite orders and deadlock. Locking them first in id order makes every issuer take them in
# the same order. (SQLite serialises writers with IMMEDIATE transactions instead.)
_TAKE_WHERE_PG = "id IN (SELECT id FROM {table} WHERE licence_id = %s AND ({keys}) ORDER BY id FOR UPDATE)"


def _take_numbers(
    licence: Licence, type_: str, year: int, turnover_delta: Decimal, turnover_year: int | None = None
) -> Numbers:
    """Advance, in one `UPDATE … RETURNING`, the licence's chain counter, the type's counter for
    the year and the running turnover of `turnover_year` (the invoice row of that year; the
    document's own year by default), creating missing rows first.
    The chain row's lock serialises issuing for the licence until the caller's transaction ends:
    every check made after this call (ceiling, what remains of an invoice) is made under it, and
    a refusal rolls the counters back, so that no number is consumed."""
    turnover_year = turnover_year or year
    keys = {("chain", 0), (type_, year), ("invoice", turnover_year)}
    fils = int((turnover_delta * 1000).to_integral_value())
    rows = _advance(licence, type_, year, turnover_year, fils, keys)
    missing = keys - set(rows)
    if missing:
        DocumentCounter.objects.bulk_create(
            [DocumentCounter(licence=licence, type=t, year=y) for t, y in sorted(missing)],
            ignore_conflicts=True,
        )
        rows.update(_advance(licence, type_, year, turnover_year, fils, missing))
    chain_id, chain_last, last_hash, _ = rows[("chain", 0)]
    return Numbers(
        chain_id=chain_id,
        counter=chain_last,
        previous_hash=last_hash or GENESIS,
        number=rows[(type_, year)][1],
        turnover=Decimal(rows[("invoice", turnover_year)][3]) / 1000,
    )


def _advance(
    licence: Licence, type_: str, year: int, turnover_year: int, fils: int, keys: set[tuple[str, int]]
) -> dict[tuple[str, int], tuple[int, int, str, int]]:
    ordered = sorted(keys)
    table = DocumentCounter._meta.db_table
    where = _TAKE_WHERE_PG if connection.vendor == "postgresql" else _TAKE_WHERE
    sql = _TAKE_SQL.format(
        table=table,
        where=where.format(table=table, keys=" OR ".join(["(type = %s AND year = %s)"] * len(ordered))),
    )
    params: list[Any] = [type_, year, turnover_year, fils, licence.pk]
    for kind, y in ordered:
        params += [kind, y]
    rows = prebuilt.run(sql, params, fetch=True) or []
    return {(kind, y): (pk, last, last_hash, fils_) for pk, kind, y, last, last_hash, fils_ in rows}


def _party(customer: Customer) -> dict[str, Any]:
    return {
        "kind": customer.kind,
        "cpr": customer.cpr or None,
        "cr_number": customer.cr_number or None,
        "name_ar": customer.name_ar,
        "name_en": customer.name_en,
        "address": customer.address,
        "vat_number": customer.vat_number or None,
        "is_tamkeen_customer": customer.is_tamkeen_customer,
        "is_tamkeen": customer.is_tamkeen,
    }


def _issuer(licence: Licence) -> dict[str, Any]:
    activities = sorted(licence.activities.all(), key=lambda a: a.code)
    return {
        "licence": licence.number,
        "trade_name": licence.trade_name,
        "name_ar": licence.name_ar,
        "name_en": licence.name_en,
        "vat_number": licence.vat_number or None,
        "activities": [a.code for a in activities],
        "activity_names": {a.code: {"ar": a.name_ar, "en": a.name_en} for a in activities},
        "address": {
            "building": licence.building,
            "road": licence.road,
            "block": licence.block,
            "area": licence.area,
            "governorate": licence.governorate.name_en,
            "governorate_ar": licence.governorate.name_ar,
        },
    }


def _payload_line(ln: dict[str, Any]) -> dict[str, Any]:
    line = {
        "activity": ln["activity"].code,
        "activity_name_ar": ln["activity"].name_ar,
        "activity_name_en": ln["activity"].name_en,
        "description": ln["description"],
        "quantity": money.text(ln["quantity"]),
        "unit": ln["unit"],
        "unit_price": money.text(ln["unit_price"]),
        "discount": money.text(ln["discount"]),
        "vat_category": ln["vat_category"],
        "vat_rate": f"{ln['vat_rate']:.2f}",
        "net": money.text(ln["net"]),
        "item_code": ln["item_code"],
        "brand": ln["brand"],
    }
    if "share" in ln:
        line["share"] = f"{ln['share']:.2f}"
        line["line_net"] = money.text(ln["line_net"])
    return line


def _seal_and_store(
    *,
    actor: User,
    prepared: Prepared,
    now: dt.datetime,
    numbers: Numbers,
    split: tuple[uuid.UUID, int] | None = None,
) -> Document:
    """Inside the transaction, with the numbers taken: payload, hash, seal, rows."""
    p = prepared
    licence = p.licence
    today = timezone.localtime(now).date()
    prefix = f"{PREFIXES[DocumentType(p.type)]}-{today.year}-"
    number = f"{prefix}{numbers.number:06d}"
    fields = dict(p.fields)
    references = dict(p.references)
    if split is not None:
        # The pair is issued under the licence's lock, one after the other: the partner's
        # number is this one's neighbour (+1 for the first of the pair, -1 for the second).
        fields["split_group"] = split[0]
        references["split_partner"] = f"{prefix}{numbers.number + split[1]:06d}"
    public_id = uuid.uuid4()
    payload = {
        "v": PAYLOAD_VERSION,
        "site": settings.KHUTWA_SITE_URL.rstrip("/"),
        "type": p.type,
        "public_id": str(public_id),
        "number": number,
        "issued_at": timezone.localtime(now).isoformat(timespec="seconds"),
        "issue_date": today.isoformat(),
        "currency": "BHD",
        "issuer": _issuer(licence),
        "customer": _party(p.customer),
        "lines": [_payload_line(ln) for ln in p.lines],
        "vat_breakdown": [g.as_payload() for g in p.vat_groups],
        "subtotal": money.text(p.subtotal),
        "vat": money.text(p.vat),
        "total": money.text(p.total),
        "total_words": money.words(p.total),
        "references": references,
        **p.extra,
        "chain": {
            "licence": licence.number,
            "counter": numbers.counter,
            "previous_hash": numbers.previous_hash,
        },
    }
    check_renderable(payload)  # a document whose PDF cannot be made is never numbered
    kid, key = signing_material()
    facts, signature, canonical = seal_payload_canonical(payload, kid, key)
    digest = facts.hash
    document = Document(
        public_id=public_id,
        licence=licence,
        type=p.type,
        number=number,
        counter=numbers.counter,
        previous_hash=numbers.previous_hash,
        hash=digest,
        signature=signature,
        kid=kid,
        payload=payload,
        issued_at=now,
        issue_date=today,
        customer=p.customer,
        subtotal=p.subtotal,
        vat=p.vat,
        total=p.total,
        issued_by=actor,
        **fields,
    )
    # save(force_insert=True), prebuilt; the payload's text is the canonical JSON just sealed
    # (read back, it is the same payload: only its keys' order and spacing are canonical).
    insert_instance(document, _DOCUMENT_FIELDS, {"payload": prebuilt.JsonText(canonical.decode())})
    if p.delivery_notes:
        document.delivery_notes.set(p.delivery_notes)
    if p.allocations:
        Allocation.objects.bulk_create(
            [Allocation(receipt=document, invoice=t, amount=a) for t, a in p.allocations]
        )
    # The public log's outbox: one row, an INSERT of its own (the log's one statement in the
    # issuing transaction); the sequencer appends it within seconds of the commit.
    document_log(document=document, now=now)
    # The rows that only refer to the document, sent together (one statement on PostgreSQL).
    with prebuilt.together():
        audit_record(
            actor=actor,
            action=f"documents.{p.type}.issue",
            obj=document,
            after={
                "number": number,
                "total": money.text(p.total),
                "hash": digest,
                "counter": numbers.counter,
            },
        )
        DocumentCounter.objects.chain_head_record(chain_id=numbers.chain_id, last_hash=digest)
        if p.lines:
            prebuilt.insert_values(
                DocumentLine, _LINE_FIELDS, [_line_row(document, i, ln) for i, ln in enumerate(p.lines)]
            )
        # The signed PDF is rendered by a worker once the document is committed (downloads then
        # only read it; one before the worker ran renders it as before): its task row is
        # written in this transaction, so it exists exactly when the document does.
        task_enqueue_with_transaction(document_pdf_render, str(public_id))
    # The outbox: subscribers learn of it once this transaction commits, never before. (With
    # no subscription that may want it, read with the scope, there is nothing to store.)
    if p.subscribed:
        events_emit(webhook_payloads.document_issued(document), now=now)
    if p.type == DocumentType.QUOTATION:
        # The customer hears of it (e-mail/SMS to the book's contact) once this commits.
        quotation_to_accept(document)
    return document


def _line_row(document: Document, i: int, ln: dict[str, Any]) -> list[Any]:
    return [
        document.pk,
        i + 1,
        ln["activity"].pk,
        ln["description"],
        ln["quantity"],
        ln["unit"],
        ln["unit_price"],
        ln["discount"],
        ln["vat_category"],
        ln["vat_rate"],
        ln["net"],
        ln["item_code"],
        ln["brand"],
    ]


#: What `_seal_and_store` writes of a document and of each line, in one prebuilt INSERT each.
_DOCUMENT_FIELDS = tuple(f.attname for f in Document._meta.concrete_fields if not f.primary_key)
_LINE_FIELDS = (
    "document_id",
    "position",
    "activity_id",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "discount",
    "vat_category",
    "vat_rate",
    "net",
    "item_code",
    "brand",
)


def _check_under_lock(prepared: Prepared, today: dt.date, numbers: Numbers) -> None:
    """The rules that depend on what was issued before: checked after `_take_numbers`, under
    the licence's lock, so two concurrent documents cannot both pass them. A refusal here rolls
    the counters back."""
    p = prepared
    if p.type == DocumentType.INVOICE:
        ceiling = p.licence.tier.turnover_ceiling
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
                    "tier": p.licence.tier.name,
                    "ceiling": money.text(ceiling),
                },
                field="lines",
            )
        if after >= ceiling * TURNOVER_WARNING:
            p.warnings.append(
                _(
                    "Your %(year)s turnover is now %(after)s BHD (VAT excluded), over 80%% of your "
                    "tier's ceiling of %(ceiling)s BHD."
                )
                % {"year": today.year, "after": money.text(after), "ceiling": money.text(ceiling)}
            )
        if p.checks_references:
            _check_sale(p)
    if p.invoice is not None:
        remaining = money.bhd(p.invoice.total - credited_amount(p.invoice))
        if p.total > remaining:
            raise Refused(
                _(
                    "The credit note (%(amount)s BHD) is more than what remains of invoice %(number)s "
                    "(%(remaining)s BHD)."
                )
                % {
                    "amount": money.text(p.total),
                    "number": p.invoice.number,
                    "remaining": money.text(remaining),
                },
                field="lines",
            )
    for j, (target, part) in enumerate(p.allocations):
        left = outstanding(target)
        if part > left:
            raise Refused(
                _("Invoice %(number)s has %(left)s BHD outstanding; %(part)s BHD is too much.")
                % {"number": target.number, "left": money.text(left), "part": money.text(part)},
                field=f"references.allocations[{j}].amount",
            )


def _invoiced(documents: Any) -> tuple[list[Document], Decimal]:
    """Invoices already issued against a quotation or delivery note, and their total."""
    invoices = list(documents.only("pk", "number", "total", "payload", "split_group"))
    return invoices, money.bhd(sum((d.total for d in invoices), Decimal("0")))


def _check_sale(p: Prepared) -> None:
    """What an invoice may invoice of what it cites. A quotation is invoiced once, or in
    documented parts: each earlier invoice said it was partial, and what remains covers this
    one; a delivery note is invoiced once. Invoicing more than the quotation needs the reason
    stated. The payload records how much was invoiced before and what remains."""
    quotation = p.quotation
    if quotation is not None:
        earlier, invoiced = _invoiced(Document.objects.filter(quotation=quotation, type=DocumentType.INVOICE))
        if any(not (d.payload.get("quotation_invoicing") or {}).get("partial") for d in earlier):
            raise Refused(
                _("Quotation %(quotation)s was already invoiced by %(invoices)s.")
                % {"quotation": quotation.number, "invoices": ", ".join(d.number for d in earlier)},
                field="references.quotation",
            )
        remaining = money.bhd(quotation.total - invoiced)
        if earlier and remaining <= 0:
            raise Refused(
                _("Nothing remains to invoice of quotation %(quotation)s.") % {"quotation": quotation.number},
                field="references.quotation",
            )
        if p.sale_total > remaining and not p.difference_reason:
            raise Refused(
                _(
                    "This invoice (%(amount)s BHD) is more than what remains of quotation "
                    "%(quotation)s (%(remaining)s BHD). State the reason for the difference, or invoice "
                    "at most what remains."
                )
                % {
                    "amount": money.text(p.sale_total),
                    "quotation": quotation.number,
                    "remaining": money.text(remaining),
                },
                field="references.difference_reason",
            )
        p.extra["quotation_invoicing"] = {
            "partial": p.partial,
            "quotation_total": money.text(quotation.total),
            "invoiced_before": money.text(invoiced),
            "remaining_after": money.text(max(Decimal("0"), remaining - p.sale_total)),
        }
    elif p.partial:
        raise Refused(
            _("A partial invoice names the quotation it invoices part of."), field="references.quotation"
        )
    through = Document.delivery_notes.through
    for j, note in enumerate(p.delivery_notes):
        cited = through.objects.filter(to_document=note).values_list("from_document__number", flat=True)
        if cited:
            raise Refused(
                _("Delivery note %(note)s was already invoiced by %(invoice)s.")
                % {"note": note.number, "invoice": ", ".join(cited)},
                field=f"references.delivery_notes[{j}]",
            )
    delivered = money.bhd(sum((d.total for d in p.delivery_notes), Decimal("0")))
    if p.delivery_notes and delivered > 0 and p.sale_total > delivered and not p.difference_reason:
        raise Refused(
            _(
                "This invoice (%(amount)s BHD) is more than its delivery notes (%(delivered)s BHD). State "
                "the reason for the difference."
            )
            % {"amount": money.text(p.sale_total), "delivered": money.text(delivered)},
            field="references.difference_reason",
        )
    if p.difference_reason:
        p.extra["difference_reason"] = p.difference_reason


def _issue_prepared(
    *, actor: User, prepared: Prepared, now: dt.datetime, split: tuple[uuid.UUID, int] | None = None
) -> Issued:
    """Number, check under the lock, seal and store (the caller holds the transaction)."""
    today = timezone.localtime(now).date()
    delta, turnover_year = prepared.turnover_delta
    numbers = _take_numbers(prepared.licence, prepared.type, today.year, delta, turnover_year)
    _check_under_lock(prepared, today, numbers)
    document = _seal_and_store(actor=actor, prepared=prepared, now=now, numbers=numbers, split=split)
    return Issued(document=document, warnings=prepared.warnings)


def document_issue(*, actor: User, data: DocumentInput, now: dt.datetime | None = None) -> Issued:
    """Validate everything, then issue in one transaction; raise ValidationError naming each
    bad field, or Refused for a rule (licence not active, ceiling, over-allocation, what a
    quotation allows)."""
    if holds_bidi(data):  # (the input is not changed below: no copy needed when it is clean)
        data = without_bidi(data)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if data.type not in DocumentType.values or data.type == DocumentType.STATEMENT:
        raise ValidationError(
            {"type": [_("Choose quotation, invoice, credit_note, delivery_note or receipt.")]}
        )
    licence, customer, subscribed = _issuing_scope(actor, today, data.customer)
    prepared = _prepare(actor=actor, data=data, licence=licence, today=today, customer=customer)
    prepared.subscribed = subscribed
    with transaction.atomic():
        return _issue_prepared(actor=actor, prepared=prepared, now=now)


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
        events_emit(webhook_payloads.quotation_answered(quotation, response.answer))
    return response


def quotation_to_invoice(
    *, actor: User, quotation: Document, due_date: dt.date | None = None, now: dt.datetime | None = None
) -> Issued:
    """An accepted, unexpired quotation becomes an invoice in one step (same lines)."""
    return document_issue(actor=actor, data=_invoice_of(actor, quotation, due_date), now=now)


def quotation_to_split_invoices(
    *,
    actor: User,
    quotation: Document,
    tamkeen_rate: Decimal,
    tamkeen_application_number: str,
    now: dt.datetime | None = None,
) -> tuple[Issued, Issued]:
    """The same, split: Tamkeen's share invoiced to Tamkeen, the rest to the customer."""
    data = _invoice_of(actor, quotation, None)
    data.tamkeen_application_number = tamkeen_application_number
    return invoice_split(actor=actor, data=data, tamkeen_rate=tamkeen_rate, now=now)


def _invoice_of(actor: User, quotation: Document, due_date: dt.date | None) -> DocumentInput:
    """The invoice input for a quotation of the holder's (the issuing service checks the rest:
    declined, expired, already invoiced)."""
    if quotation.type != DocumentType.QUOTATION or quotation.licence.holder_id != actor.pk:
        raise NotFound(_("Not found."))
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


_SHARE_RE = re.compile(r"^(0(\.[0-9]{1,4})?|\.[0-9]{1,4}|1(\.0{1,4})?)$")


def parse_share(text: str | Decimal) -> Decimal:
    """Tamkeen's share as a fraction strictly between 0 and 1 with at most 4 decimals (so that
    it is an exact percentage with 2 decimals): "0.7" → 0.7. ValidationError otherwise."""
    raw = str(text).strip()
    value = Decimal(raw) if _SHARE_RE.match(raw) else None
    if value is None or not (Decimal("0") < value < Decimal("1")):
        raise ValidationError(
            {"tamkeen_share": [_("Enter Tamkeen's share as a fraction between 0 and 1, such as 0.7.")]}
        )
    return value


def _split_shares(whole: Prepared, rate: Decimal, tamkeen: Customer) -> tuple[Prepared, Prepared]:
    """Both shares keep every line (same quantity, unit, price and discount) and state the
    share of it they charge: Tamkeen's net is round-half-up(line net × rate), the customer's
    the rest of the line. VAT: Tamkeen's share is taxed on its own breakdown; the customer's
    takes the whole sale's VAT less Tamkeen's, per category, so that the two invoices add up to
    the unsplit invoice exactly, fils and VAT included (the last fil goes to the customer's)."""
    percent = rate * 100
    tamkeen_lines, customer_lines = [], []
    for ln in whole.lines:
        share = money.bhd(ln["net"] * rate)
        tamkeen_lines.append({**ln, "net": share, "share": percent, "line_net": ln["net"]})
        customer_lines.append({**ln, "net": ln["net"] - share, "share": 100 - percent, "line_net": ln["net"]})
    tamkeen_groups, tamkeen_subtotal, tamkeen_vat = _totals(tamkeen_lines)
    theirs = {(g.category, g.rate): g for g in tamkeen_groups}
    customer_groups = []
    for g in whole.vat_groups:
        t = theirs.get(
            (g.category, g.rate), money.VatGroup(g.category, g.rate, Decimal("0.000"), Decimal("0.000"))
        )
        customer_groups.append(money.VatGroup(g.category, g.rate, g.taxable - t.taxable, g.vat - t.vat))
    customer_subtotal = whole.subtotal - tamkeen_subtotal
    customer_vat = whole.vat - tamkeen_vat

    def share_of(
        customer: Customer,
        lines: list[dict[str, Any]],
        groups: list[money.VatGroup],
        subtotal: Decimal,
        vat: Decimal,
        first: bool,
    ) -> Prepared:
        return Prepared(
            licence=whole.licence,
            type=DocumentType.INVOICE,
            customer=customer,
            lines=lines,
            subtotal=subtotal,
            vat=vat,
            total=subtotal + vat,
            vat_groups=groups,
            fields=dict(whole.fields),
            extra=dict(whole.extra),
            references=dict(whole.references),
            quotation=whole.quotation,
            delivery_notes=whole.delivery_notes if first else [],
            partial=whole.partial,
            difference_reason=whole.difference_reason,
            sale_total=whole.total,
            checks_references=first,
        )

    return (
        share_of(tamkeen, tamkeen_lines, tamkeen_groups, tamkeen_subtotal, tamkeen_vat, True),
        share_of(whole.customer, customer_lines, customer_groups, customer_subtotal, customer_vat, False),
    )


def invoice_split(
    *, actor: User, data: DocumentInput, tamkeen_rate: Decimal | str, now: dt.datetime | None = None
) -> tuple[Issued, Issued]:
    """Split invoicing: Tamkeen's share invoiced to Tamkeen, the rest to the customer, issued
    together, each naming the other (see `_split_shares` for how each line is shared)."""
    data = without_bidi(data)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    rate = parse_share(tamkeen_rate)
    if not data.tamkeen_application_number.strip():
        raise ValidationError(
            {"tamkeen_application_number": [_("Split invoices carry the Tamkeen application number.")]}
        )
    licence = active_licence(actor, today)
    whole = _prepare(actor=actor, data=replace(data, type=DocumentType.INVOICE), licence=licence, today=today)
    group = uuid.uuid4()
    with transaction.atomic():
        tamkeen, customer = _split_shares(whole, rate, tamkeen_customer(actor))
        first = _issue_prepared(actor=actor, prepared=tamkeen, now=now, split=(group, +1))
        # The pair is one sale: the customer's share records what the first found.
        for name in ("quotation_invoicing", "difference_reason"):
            if name in first.document.payload:
                customer.extra[name] = first.document.payload[name]
        second = _issue_prepared(actor=actor, prepared=customer, now=now, split=(group, -1))
    return first, second
