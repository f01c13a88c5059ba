"""Customers, documents, statements and verification over HTTP (API.md, "Documents")."""

import datetime as dt
import json
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from ninja import Field, Header, Query, Router, Schema

from khutwa.accounts.models import User
from khutwa.api.auth import AUTH
from khutwa.api.errors import ApiProblem, invalid_fields
from khutwa.api.schemas import (
    AMOUNT,
    CPR,
    CR_NUMBER,
    NOT_BLANK,
    PUBLIC_ID,
    VAT_NUMBER,
    CursorPageIn,
    Day,
    ListOut,
    Out,
    PageOut,
    Problem,
    cursor_page_of,
    enforced,
)
from khutwa.config.routers import replica_read
from khutwa.documents import selectors, services
from khutwa.documents.models import Customer, Document, PaymentMethod, VatCategory
from khutwa.documents.pdf import document_pdf, qr_of, ubl_of, verify_url
from khutwa.documents.statements import statement_issue
from khutwa.documents.verification import Verification, licence_status_at_issue, public_verify
from khutwa.errors import NotFound
from khutwa.http import download
from khutwa.ratelimit import PurposeThrottle

router = Router(tags=["documents"])
verify_router = Router(tags=["verification"])
#: The book's order (selectors.customers_of), ending with the key: the cursor's columns.
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem}


class CustomerIn(Schema):
    kind: Literal["individual", "business"]
    cpr: str = Field(
        "",
        max_length=9,
        description="9 digits; required for an individual",
        json_schema_extra=enforced(pattern=CPR),
    )
    cr_number: str = Field(
        "",
        max_length=20,
        description="digits and branch (145678-1); required for a business",
        json_schema_extra=enforced(pattern=CR_NUMBER),
    )
    name_ar: str = Field("", max_length=200)
    name_en: str = Field("", max_length=200)
    address: str = Field("", max_length=300)
    phone: str = Field("", max_length=20)
    email: str = Field("", max_length=254)
    vat_number: str = Field(
        "",
        max_length=15,
        description="VAT account number, 15 digits (VAT-registered only)",
        json_schema_extra=enforced(pattern=VAT_NUMBER),
    )
    is_tamkeen_customer: bool = False


class CustomerPatch(Schema):
    """Only the fields sent change; the CPR or CR (the customer's identity) never does."""

    name_ar: str | None = Field(None, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=20)
    email: str | None = Field(None, max_length=254)
    vat_number: str | None = Field(None, max_length=15, json_schema_extra=enforced(pattern=VAT_NUMBER))
    is_tamkeen_customer: bool | None = None


class CustomerOut(Schema):
    id: int
    kind: str
    cpr: str
    cr_number: str
    name_ar: str
    name_en: str
    address: str
    phone: str
    email: str
    vat_number: str
    is_tamkeen_customer: bool


class LineIn(Schema):
    activity: str = Field(..., max_length=50, description="an activity code of your licence")
    description: str = Field(..., max_length=500, json_schema_extra=enforced(pattern=NOT_BLANK))
    quantity: str = Field(
        ...,
        max_length=20,
        description='above zero, up to 3 decimals, e.g. "2" or "1.500"',
        json_schema_extra=enforced(pattern=AMOUNT),
    )
    unit: str = Field("piece", max_length=20, json_schema_extra=enforced(enum=list(services.UNITS)))
    unit_price: str = Field(..., max_length=20, json_schema_extra=enforced(pattern=AMOUNT))
    discount: str = Field("0", max_length=20, json_schema_extra=enforced(pattern=AMOUNT))
    vat_category: str = Field(
        "",
        max_length=1,
        description="S, Z or E when VAT-registered; O (or empty) otherwise",
        json_schema_extra=enforced(enum=["", *VatCategory.values]),
    )
    item_code: str = Field("", max_length=50)
    brand: str = Field("", max_length=100)


class AllocationIn(Schema):
    invoice: str = Field(..., max_length=40, json_schema_extra=enforced(pattern=PUBLIC_ID))
    amount: str = Field(..., max_length=20, json_schema_extra=enforced(pattern=AMOUNT))


#: A public id, or nothing.
_REFERENCE = enforced(pattern=PUBLIC_ID.replace("^", "^(", 1).replace("$", ")?$"))


class ReferencesIn(Schema):
    quotation: str = Field("", max_length=40, json_schema_extra=_REFERENCE)
    invoice: str = Field("", max_length=40, json_schema_extra=_REFERENCE)
    delivery_notes: list[str] = Field(
        default_factory=list,
        max_length=50,
        json_schema_extra=enforced(items={"type": "string", "maxLength": 40, "pattern": PUBLIC_ID}),
    )
    allocations: list[AllocationIn] = Field(default_factory=list, max_length=200)
    partial: bool = Field(
        False, description="An invoice of part of the quotation: a later one may invoice the rest"
    )
    difference_reason: str = Field(
        "",
        max_length=500,
        description="Why the invoice exceeds its quotation or delivery notes (required to)",
    )


class PaymentIn(Schema):
    method: str = Field("", max_length=20, json_schema_extra=enforced(enum=["", *PaymentMethod.values]))
    reference: str = Field("", max_length=100)
    amount: str = Field(
        "",
        max_length=20,
        json_schema_extra=enforced(pattern=AMOUNT.replace("^", "^(", 1).replace("$", ")?$")),
    )


class DocumentIn(Schema):
    type: Literal["quotation", "invoice", "credit_note", "delivery_note", "receipt"]
    customer: int = Field(
        ..., description="the id of a customer of your book", json_schema_extra=enforced(minimum=1)
    )
    lines: list[LineIn] = Field(default_factory=list, max_length=services.MAX_LINES)
    references: ReferencesIn = Field(default_factory=lambda: ReferencesIn.model_validate({}))
    tamkeen_application_number: str = Field("", max_length=30)
    valid_until: Day | None = None
    due_date: Day | None = None
    reason: str = Field("", max_length=2000)
    payment: PaymentIn | None = None


class DocumentOut(Out):
    public_id: str
    number: str
    type: str
    issued_at: dt.datetime
    currency: str
    customer: int
    subtotal: str
    vat: str
    total: str
    hash: str
    previous_hash: str
    counter: int
    key_id: str
    verify_url: str
    qr: str
    lines: list[dict[str, str]]
    vat_breakdown: list[dict[str, str]] = Field(default_factory=list)
    total_words: dict[str, str] | None = None
    references: dict[str, Any]
    tamkeen_application_number: str
    valid_until: dt.date | None
    due_date: dt.date | None
    reason: str
    payment: dict[str, str] | None
    warnings: list[str] = Field(default_factory=list)


class DocumentFilters(Schema):
    type: str = Field("", max_length=20)
    customer: int | None = Field(None, ge=1, le=2**63 - 1)
    from_: Day | None = Field(None, alias="from")
    to: Day | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)
    cursor: str | None = Field(
        None,
        max_length=40,
        description=(
            "Keyset pages: empty for the first page, then the `next` of the page before. With a "
            "cursor, `offset` is ignored and `count` is the number of items on this page (no total "
            "is counted); without one, `offset` and the exact `count` work as before."
        ),
    )


class DocumentListOut(ListOut[DocumentOut]):
    next: str | None = Field(
        None, description="The cursor of the following page (`?cursor=`), or null on the last page."
    )


class StatementIn(Schema):
    customer: int = Field(..., json_schema_extra=enforced(minimum=1))
    from_: Day = Field(..., alias="from")
    to: Day


class SplitIn(Schema):
    customer: int = Field(..., json_schema_extra=enforced(minimum=1))
    lines: list[LineIn] = Field(..., max_length=services.MAX_LINES)
    tamkeen_share: str = Field(
        ..., max_length=8, description='Tamkeen\'s share as a fraction between 0 and 1, e.g. "0.7"'
    )
    tamkeen_application_number: str = Field(..., max_length=30)
    quotation: str = Field("", max_length=40)
    partial: bool = False
    difference_reason: str = Field("", max_length=500)
    due_date: Day | None = None


class IssuerOut(Schema):
    trade_name: str
    licence: str
    licence_status_at_issue: str
    licence_status_now: str


class WitnessOut(Schema):
    name: str = Field(description="the witness's key name (its vkey's name)")
    checkpoint_size: int = Field(description="the first checkpoint it cosigned that holds the document")
    cosigned_at: dt.datetime


class LogOut(Schema):
    """The document's place in the public transparency log (docs/transparency-log.md)."""

    state: str = Field(description="included | pending (not yet, within the merge delay) | missing")
    index: int | None = None
    tree_size: int | None = None
    checkpoint_time: dt.datetime | None = None
    witnesses: list[WitnessOut] = Field(default=[], description="the witnesses that have seen it")


class VerifyOut(Schema):
    valid: bool
    reasons: list[str]
    type: str
    number: str
    issued_at: dt.datetime
    total: str
    vat: str
    hash: str
    issuer: IssuerOut
    credited: bool
    paid: bool
    log: LogOut


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def customer_out(c: Customer) -> CustomerOut:
    return CustomerOut(
        id=c.pk,
        kind=c.kind,
        cpr=c.cpr,
        cr_number=c.cr_number,
        name_ar=c.name_ar,
        name_en=c.name_en,
        address=c.address,
        phone=c.phone,
        email=c.email,
        vat_number=c.vat_number,
        is_tamkeen_customer=c.is_tamkeen_customer,
    )


def document_out(d: Document, warnings: list[str] | None = None) -> DocumentOut:
    p = d.payload
    return DocumentOut(
        public_id=str(d.public_id),
        number=d.number,
        type=d.type,
        issued_at=d.issued_at,
        currency=d.currency,
        customer=d.customer_id,
        subtotal=p["subtotal"],
        vat=p["vat"],
        total=p["total"],
        hash=d.hash,
        previous_hash=d.previous_hash,
        counter=d.counter,
        key_id=d.kid,
        verify_url=verify_url(d),
        qr=qr_of(d),
        lines=p["lines"],
        vat_breakdown=p.get("vat_breakdown", []),
        total_words=p.get("total_words"),
        references=p.get("references", {}),
        tamkeen_application_number=p.get("tamkeen_application_number", ""),
        valid_until=d.valid_until,
        due_date=d.due_date,
        reason=d.reason,
        payment=p.get("payment"),
        warnings=warnings or [],
    )


def _input(payload: DocumentIn) -> services.DocumentInput:
    return services.DocumentInput(
        type=payload.type,
        customer=payload.customer,
        lines=[services.LineInput(**line.model_dump()) for line in payload.lines],
        quotation=payload.references.quotation,
        invoice=payload.references.invoice,
        delivery_notes=list(payload.references.delivery_notes),
        allocations=[(a.invoice, a.amount) for a in payload.references.allocations],
        tamkeen_application_number=payload.tamkeen_application_number,
        valid_until=payload.valid_until,
        due_date=payload.due_date,
        reason=payload.reason,
        payment_method=payload.payment.method if payload.payment else "",
        payment_reference=payload.payment.reference if payload.payment else "",
        payment_amount=payload.payment.amount if payload.payment else "",
        partial=payload.references.partial,
        difference_reason=payload.references.difference_reason,
    )


@router.post(
    "/customers", response={201: CustomerOut, **ERRORS}, auth=AUTH, summary="Add a customer to your book"
)
def customer_create(request: HttpRequest, payload: CustomerIn) -> tuple[int, CustomerOut]:
    try:
        customer = services.customer_create(actor=_user(request), **payload.model_dump())
    except ValidationError as exc:
        raise invalid_fields(exc) from None
    return 201, customer_out(customer)


class CustomerFilters(CursorPageIn):
    q: str = Field(
        "",
        max_length=60,
        description="Entries found by a name (in either language, any part) or an exact CPR or CR number.",
    )


@router.get("/customers", response={200: PageOut[CustomerOut], **ERRORS}, auth=AUTH, summary="Your customers")
def customer_list(request: HttpRequest, page: Query[CustomerFilters]) -> dict[str, Any]:
    customers = selectors.customers_of(_user(request))
    if page.q.strip():
        customers = selectors.customers_matching(customers, page.q)
    return cursor_page_of(customers, page, customer_out, order=selectors.CUSTOMERS_ORDER)


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerOut, **ERRORS},
    auth=AUTH,
    summary="Edit a customer of your book (names, address, contacts, VAT number)",
)
def customer_update(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> CustomerOut:
    customer = selectors.customer_for(_user(request), customer_id)
    try:
        updated = services.customer_update(
            actor=_user(request), customer=customer, **payload.model_dump(exclude_none=True)
        )
    except ValidationError as exc:
        raise invalid_fields(exc) from None
    return customer_out(updated)


@router.post(
    "/documents",
    response={200: DocumentOut, 201: DocumentOut, **ERRORS},
    auth=AUTH,
    summary="Issue a document (honours Idempotency-Key)",
)
def document_create(
    request: HttpRequest,
    payload: DocumentIn,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=100),
) -> tuple[int, DocumentOut]:
    data = _input(payload)
    try:
        if idempotency_key:
            issued, new = services.document_issue_idempotent(
                actor=_user(request), key=idempotency_key, body=payload.model_dump(mode="json"), data=data
            )
        else:
            issued, new = services.document_issue(actor=_user(request), data=data), True
    except ValidationError as exc:
        raise invalid_fields(exc) from None
    return (201 if new else 200), document_out(issued.document, [str(w) for w in issued.warnings])


@router.get("/documents", response={200: DocumentListOut, **ERRORS}, auth=AUTH, summary="Your documents")
def document_list(request: HttpRequest, filters: Query[DocumentFilters]) -> dict[str, Any]:
    chosen: dict[str, Any] = {
        "type_": filters.type,
        "customer": filters.customer,
        "start": filters.from_,
        "end": filters.to,
    }
    if filters.cursor is not None:
        try:
            page = selectors.document_page(
                _user(request), after=filters.cursor, size=filters.limit, columns=None, **chosen
            )
        except selectors.BadCursor as exc:
            raise ApiProblem(422, str(exc), [{"field": "cursor", "message": str(exc)}]) from None
        return {"items": [document_out(d) for d in page], "count": len(page), "next": page.next}
    items, total = selectors.document_slice(
        _user(request), offset=filters.offset, limit=filters.limit, **chosen
    )
    more = filters.offset + len(items) < total
    return {
        "items": [document_out(d) for d in items],
        "count": total,
        "next": selectors.Position.of(items[-1]).encode() if items and more else None,
    }


@router.post(
    "/documents/split",
    response={201: list[DocumentOut], **ERRORS},
    auth=AUTH,
    summary="Split invoicing: Tamkeen's share and the customer's, issued together",
)
def invoice_split(request: HttpRequest, payload: SplitIn) -> tuple[int, list[DocumentOut]]:
    # Declared before /documents/{public_id}, whose path would otherwise take "split".
    data = services.DocumentInput(
        type="invoice",
        customer=payload.customer,
        lines=[services.LineInput(**ln.model_dump()) for ln in payload.lines],
        quotation=payload.quotation,
        tamkeen_application_number=payload.tamkeen_application_number,
        due_date=payload.due_date,
        partial=payload.partial,
        difference_reason=payload.difference_reason,
    )
    try:
        first, second = services.invoice_split(
            actor=_user(request), data=data, tamkeen_rate=payload.tamkeen_share
        )
    except ValidationError as exc:
        raise invalid_fields(exc) from None
    return 201, [document_out(first.document), document_out(second.document)]


@router.get(
    "/documents/{public_id}", response={200: DocumentOut, **ERRORS}, auth=AUTH, summary="One document"
)
def document_get(request: HttpRequest, public_id: str) -> DocumentOut:
    return document_out(selectors.get_document_for(_user(request), public_id))


@router.get(
    "/documents/{public_id}/pdf",
    auth=AUTH,
    response={200: None, **ERRORS},
    summary="The signed PDF/A-3 (UBL XML attached for invoices and credit notes)",
)
def document_get_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    document = selectors.get_document_for(_user(request), public_id)
    return download(document_pdf(document), content_type="application/pdf", filename=f"{document.number}.pdf")


@router.get(
    "/documents/{public_id}/xml",
    auth=AUTH,
    response={200: None, **ERRORS},
    summary="The UBL 2.1 XML of an invoice or credit note",
)
def document_get_xml(request: HttpRequest, public_id: str) -> HttpResponse:
    document = selectors.get_document_for(_user(request), public_id)
    xml = ubl_of(document)
    if xml is None:
        raise NotFound("Not found.")
    return download(xml, content_type="application/xml", filename=f"{document.number}.xml")


@router.post(
    "/documents/{public_id}/accept",
    response={200: DocumentOut, **ERRORS},
    auth=AUTH,
    summary="Customer: accept a quotation addressed to you",
)
def quotation_accept(request: HttpRequest, public_id: str) -> DocumentOut:
    document = selectors.get_document_for(_user(request), public_id)
    services.quotation_respond(actor=_user(request), quotation=document, accept=True)
    return document_out(document)


@router.post(
    "/documents/{public_id}/decline",
    response={200: DocumentOut, **ERRORS},
    auth=AUTH,
    summary="Customer: decline a quotation addressed to you",
)
def quotation_decline(request: HttpRequest, public_id: str) -> DocumentOut:
    document = selectors.get_document_for(_user(request), public_id)
    services.quotation_respond(actor=_user(request), quotation=document, accept=False)
    return document_out(document)


@router.post(
    "/documents/{public_id}/invoice",
    response={201: DocumentOut, **ERRORS},
    auth=AUTH,
    summary="Holder: turn an accepted quotation into an invoice",
)
def quotation_invoice(request: HttpRequest, public_id: str) -> tuple[int, DocumentOut]:
    document = selectors.get_document_for(_user(request), public_id)
    issued = services.quotation_to_invoice(actor=_user(request), quotation=document)
    return 201, document_out(issued.document, [str(w) for w in issued.warnings])


@router.post(
    "/statements",
    response={201: DocumentOut, **ERRORS},
    auth=AUTH,
    summary="Issue a signed statement of account for a customer and a period",
)
def statement_create(request: HttpRequest, payload: StatementIn) -> tuple[int, DocumentOut]:
    try:
        issued = statement_issue(
            actor=_user(request), customer_id=payload.customer, start=payload.from_, end=payload.to
        )
    except ValidationError as exc:
        raise invalid_fields(exc) from None
    return 201, document_out(issued.document)


def _moment(value: dt.datetime | None) -> str | None:
    """A time as the API's JSON renderer writes it (`DjangoJSONEncoder`: milliseconds, "Z")."""
    return None if value is None else _ENCODER.default(value)


_ENCODER = DjangoJSONEncoder()
_JSON = "application/json; charset=utf-8"


def verify_body(result: Verification) -> bytes:
    """The verdict as `VerifyOut`'s JSON, built once from the verdict: the same fields in the
    same order, as ninja's validation and renderer wrote them (`tests/documents/test_verify_response.py`
    holds it to that), without a pydantic pass over it on the public hot path."""
    record = result.record
    assert record is not None  # noqa: S101 - public_verify always gives the record
    log = result.log
    return json.dumps(
        {
            "valid": result.valid,
            "reasons": result.reasons,
            "type": record.type,
            "number": record.number,
            "issued_at": _moment(record.issued_at),
            "total": record.payload["total"],
            "vat": record.payload["vat"],
            "hash": record.hash,
            "issuer": {
                "trade_name": record.payload["issuer"]["trade_name"],
                "licence": record.licence_number,
                "licence_status_at_issue": licence_status_at_issue(record),
                "licence_status_now": result.licence_status_now,
            },
            "credited": result.credited > 0,
            "paid": result.paid,
            "log": {
                "state": log.state,
                "index": log.index,
                "tree_size": log.tree_size,
                "checkpoint_time": _moment(log.checkpoint_time),
                "witnesses": [
                    {"name": w.witness, "checkpoint_size": w.size, "cosigned_at": _moment(w.cosigned_at)}
                    for w in log.witnesses
                ],
            }
            if log
            else {
                "state": "pending",
                "index": None,
                "tree_size": None,
                "checkpoint_time": None,
                "witnesses": [],
            },
        }
    ).encode()


@verify_router.get(
    "/{public_id}",
    response={200: VerifyOut, **ERRORS},
    auth=None,
    throttle=[PurposeThrottle("verify")],
    summary="Public verification (nothing personal)",
)
@replica_read
def verify(request: HttpRequest, public_id: str) -> HttpResponse:
    # The OpenAPI document declares VerifyOut; the body is built from the verdict directly.
    return HttpResponse(verify_body(public_verify(public_id)), content_type=_JSON)
