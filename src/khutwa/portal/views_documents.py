"""Pages for official documents: the holder's documents and forms, the customer's inbox, the
public verification page and the platform's public keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from khutwa import display
from khutwa.config.routers import replica_read
from khutwa.display import choice_label, is_arabic, name_in_language
from khutwa.documents import money, selectors, services
from khutwa.documents.models import Document, DocumentType, PaymentMethod
from khutwa.documents.pdf import document_pdf, ubl_of, verify_url
from khutwa.documents.statements import statement_issue
from khutwa.documents.verification import (
    Record,
    pdf_verify,
    public_keys,
    public_verify,
    qr_site,
    qr_verify,
)
from khutwa.errors import Refused
from khutwa.http import download
from khutwa.inputs import parse_count, parse_date, parse_id
from khutwa.licensing.models import LicenceStatus
from khutwa.licensing.selectors import active_licence_of
from khutwa.portal.access import found, me
from khutwa.portal.detail_forms import submit
from khutwa.portal.fields import Problem
from khutwa.portal.forms import ActionForm
from khutwa.portal.limits import refused
from khutwa.portal.paging import keyset_of
from khutwa.portal.problems import CUSTOMER_FIELDS as CUSTOMER_PROBLEM_FIELDS
from khutwa.portal.problems import STATEMENT_FIELDS, document_problems, field_problems, verification_reasons
from khutwa.portal.templatetags.khutwa import url_with
from khutwa.support import services as support_services
from khutwa.trust import sandbox

MAX_UPLOAD = 10 * 1024 * 1024


@require_GET
@cache_control(public=True, max_age=300)
def jwks(request: HttpRequest) -> JsonResponse:
    """/.well-known/khutwa-keys.json: every signing key, retired ones included, and the root."""
    return JsonResponse(public_keys())


@replica_read
def verify_page(request: HttpRequest, public_id: str) -> HttpResponse:
    """Where the QR lands: valid or not, the facts, the licence then and now; nothing personal.
    Everything shown comes from the verdict's one indexed read (`verification.public_verify`)."""
    if limited := refused(request, "verify"):
        return limited
    result = found(lambda: public_verify(public_id))
    record = result.record
    assert record is not None  # noqa: S101 - public_verify always gives the record
    qr_reasons: list[str] = []
    if request.GET.get("s") and request.GET.get("g"):
        # The page was opened from a QR code: check that code too (a forged QR may point here).
        qr_reasons = qr_verify(record, _qr_content(request, record))
    return render(
        request,
        "portal/verify.html",
        {
            "record": record,
            "type_label": DocumentType(record.type).label,
            "status_label": LicenceStatus(record.licence_status).label,
            "p": record.payload,
            "result": result,
            "qr_reasons": qr_reasons,
            "reasons": verification_reasons([*result.reasons, *qr_reasons]),
            "valid": result.valid and not qr_reasons,
            "log": result.log,
            "log_delay": settings.KHUTWA_LOG_MAX_MERGE_DELAY_SECONDS,
        },
    )


def _qr_content(request: HttpRequest, record: Record) -> str:
    """The QR content that led here: the document's QR site and public id (both signed by a
    KW2 seal), and this page's query (``s`` and ``g``)."""
    return f"{qr_site(record)}/verify/{record.public_id}?{request.META.get('QUERY_STRING', '')}"


def verify_upload(request: HttpRequest) -> HttpResponse:
    """Upload a PDF: is it authentic and unaltered?"""
    result = None
    error = ""
    if request.method == "POST":
        if limited := refused(request, "pdf-check"):
            return limited
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose the PDF file to check.")
        elif upload.size and upload.size > MAX_UPLOAD:
            error = _("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD // (1024 * 1024)}
        else:
            data = upload.read(MAX_UPLOAD + 1)
            if not data.startswith(b"%PDF"):
                error = _("This is not a PDF file.")
            else:
                try:
                    result = pdf_verify(data)
                except sandbox.Uncheckable as exc:
                    error = _uncheckable(exc)
    return render(
        request,
        "portal/verify_upload.html",
        {
            "result": result,
            "error": error,
            "error_problems": [Problem("id_file", error)] if error else [],
            "reasons": verification_reasons(result.reasons) if result is not None else [],
        },
        status=400 if error else 200,
    )


def _uncheckable(exc: sandbox.Uncheckable) -> str:
    """Why an uploaded PDF cannot be checked, in the page's language."""
    if exc.kind == sandbox.TIMEOUT:
        return _("This PDF cannot be checked: reading it took longer than %(seconds)s seconds.") % {
            "seconds": int(sandbox.TIME_LIMIT)
        }
    if exc.kind == sandbox.INFLATED:
        return _("This PDF cannot be checked: its compressed content unpacks to more than %(mb)s MB.") % {
            "mb": sandbox.INFLATED_LIMIT // (1024 * 1024)
        }
    if exc.kind in (sandbox.MEMORY, sandbox.CRASHED):
        return _("This PDF cannot be checked: reading it needed more than %(mb)s MB of memory or failed.") % {
            "mb": sandbox.MEMORY_LIMIT // (1024 * 1024)
        }
    return _("This PDF cannot be checked: it is not a readable PDF file.")


def _document_or_404(request: HttpRequest, public_id: str) -> Any:
    return found(lambda: selectors.get_document_for(me(request), public_id))


@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    user = me(request)
    type_ = request.GET.get("type", "")
    if type_ not in DocumentType.values:
        type_ = ""
    customer = request.GET.get("customer", "")
    start = _date(request.GET.get("from"))
    end = _date(request.GET.get("to"))
    query = request.GET.get("q", "")[:60]
    status = request.GET.get("status", "")
    filters: dict[str, Any] = {
        "type_": type_,
        "customer": parse_id(customer) if customer else None,
        "start": start,
        "end": end,
        "query": query,
        "status": status,
    }
    # Keyset pages (selectors.document_page): as fast deep in a list of 10,000 as on page one.
    cursor_error = ""
    after, before = request.GET.get("after", "")[:40], request.GET.get("before", "")[:40]
    # The licences and customer entries, read once for the page and the holder's tools.
    sources = selectors.document_sources(user)
    try:
        page = selectors.document_page(
            user, after=after, before=before, size=selectors.PAGE_SIZE, sources=sources, **filters
        )
    except selectors.BadCursor as exc:
        cursor_error = str(exc)
        page = selectors.document_page(user, size=selectors.PAGE_SIZE, sources=sources, **filters)
    is_holder = sources.has_active_licence
    _label_rows(page.items)
    return render(
        request,
        "portal/documents.html",
        {
            "page": page,
            "cursor_error": cursor_error,
            "types": DocumentType.choices,
            "type": type_,
            **(_customer_filter(user, customer) if is_holder else {"customers": None}),
            "customer": customer,
            "from": start,
            "to": end,
            "q": query,
            "is_holder": is_holder,
            "status": status,
            "statuses": [
                ("unpaid", _("Invoices not fully paid")),
                ("paid", _("Invoices paid")),
                ("credited", _("Invoices credited")),
                ("awaiting", _("Quotations awaiting an answer")),
                ("accepted", _("Quotations accepted")),
                ("declined", _("Quotations declined")),
                ("expired", _("Quotations expired")),
            ],
        },
    )


def _label_rows(documents: list[Document]) -> None:
    """Each row's link, type label, customer name, date and total, made once per page rather
    than per row in the template (a `{% url %}`, a `get_type_display`, a `|date` and a customer's
    `__str__` per row each looked the language up again: most of the list's rendering), and then
    the row itself (`row`: its `<tr>`, each value escaped by `format_html`): six variables per
    row in the template cost more than the rest of the row's work."""
    arabic = is_arabic()
    labels: dict[str, Any] = {}
    for document in documents:
        url = url_with("portal:document", document.public_id)
        if document.type not in labels:
            labels[document.type] = choice_label(document, "type")
        customer = document.customer
        document.row = format_html(  # type: ignore[attr-defined]
            _ROW,
            url,
            document.number,
            labels[document.type],
            name_in_language(customer.name_ar, customer.name_en, arabic=arabic),
            document.issue_date.isoformat(),
            display.amount(document.total),
        )


_ROW = (
    '<tr><td><a href="{}"><bdi>{}</bdi></a></td><td>{}</td><td>{}</td><td><bdi>{}</bdi></td>'
    '<td class="text-end"><bdi>{}</bdi></td></tr>'
)


#: Past this many customers the list's customer filter is its search field ("Number or
#: customer"): a select of hundreds of names is of no use on a phone, and every page of the list
#: would read and send the whole customer book.
CUSTOMER_OPTIONS = 100


def _customer_filter(user: Any, chosen: str) -> dict[str, Any]:
    """`customers`: the filter's `<option>`s (pk, name in the page's language, `selected` for
    the chosen one, from one `values_list`, without a template variable per entry), or None
    past `CUSTOMER_OPTIONS` customers; then `customer_chosen` names the customer a link chose
    (the customer book's), shown as a filter that can be removed."""
    arabic = is_arabic()
    rows = list(selectors.customers_of(user).values_list("pk", "name_ar", "name_en")[: CUSTOMER_OPTIONS + 1])
    if len(rows) <= CUSTOMER_OPTIONS:
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (pk, " selected" if str(pk) == chosen else "", name_in_language(ar, en, arabic=arabic))
                for pk, ar, en in rows
            ),
        )
        return {"customers": options, "customer_chosen": ""}
    pk = parse_id(chosen) if chosen else None
    names = None
    if pk is not None:
        names = selectors.customers_of(user).filter(pk=pk).values_list("name_ar", "name_en").first()
    return {"customers": None, "customer_chosen": name_in_language(*names, arabic=arabic) if names else ""}


def _customer_choices(user: Any, values: Any) -> dict[str, Any]:
    """The issuing forms' customer select: the whole book up to `CUSTOMER_OPTIONS` entries; past
    that, the entries that the form's customer search (`customer_q`, sent with the "Find" button,
    which issues nothing) finds, at most `CUSTOMER_OPTIONS`, and the entry already chosen."""
    book = selectors.customers_of(user)
    entries = list(book[: CUSTOMER_OPTIONS + 1])
    if len(entries) <= CUSTOMER_OPTIONS:
        return {"customers": entries, "customer_search": False}
    query = (values.get("customer_q") or "").strip()[:60]
    found = list(selectors.customers_matching(book, query)[: CUSTOMER_OPTIONS + 1]) if query else []
    more = len(found) > CUSTOMER_OPTIONS
    found = found[:CUSTOMER_OPTIONS]
    chosen = parse_id(values.get("customer") or "")
    if chosen is not None and all(entry.pk != chosen for entry in found):
        found[:0] = list(book.filter(pk=chosen))
    return {
        "customers": found,
        "customer_search": True,
        "customer_q": query,
        "customer_more": more,
        "customer_limit": CUSTOMER_OPTIONS,
    }


def _date(text: str | None) -> dt.date | None:
    return parse_date(text) if text else None


def _bad_dates(post: Any, names: tuple[str, ...]) -> dict[str, list[str]]:
    """A form error for each date field that is filled but is not a date the platform keeps
    (YYYY-MM-DD, 1900 to 9999): never silently dropped."""
    return {
        name: [_("Enter a valid date between 1900-01-01 and 9999-12-31.")]
        for name in names
        if (post.get(name) or "").strip() and _date(post.get(name)) is None
    }


@login_required
def document_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    document = _document_or_404(request, public_id)
    return render(request, "portal/document_detail.html", _document_context(request, document))


def _document_context(request: HttpRequest, document: Document, **failed: forms.Form) -> dict[str, Any]:
    """A document's page; ``failed`` is the action sent back with its refusal, if any."""
    user = me(request)
    is_holder = document.licence.holder_id == user.pk
    response = getattr(document, "response", None)
    split = (
        support_services.split_application(document)
        if is_holder and document.type == DocumentType.QUOTATION
        else None
    )
    return {
        "document": document,
        "p": document.payload,
        "is_holder": is_holder,
        "split_application": split,
        "is_customer": selectors.addressed_to(user, document.customer),
        "response": response,
        "verify_url": verify_url(document),
        "has_xml": document.type in (DocumentType.INVOICE, DocumentType.CREDIT_NOTE),
        "outstanding": services.outstanding(document) if document.type == DocumentType.INVOICE else None,
        "today": timezone.localdate(),
        "action_form": ActionForm(),
        **failed,
    }


@login_required
def document_pdf_download(request: HttpRequest, public_id: str) -> HttpResponse:
    document = _document_or_404(request, public_id)
    return download(document_pdf(document), content_type="application/pdf", filename=f"{document.number}.pdf")


@login_required
def document_xml_download(request: HttpRequest, public_id: str) -> HttpResponse:
    document = _document_or_404(request, public_id)
    xml = ubl_of(document)
    if xml is None:
        raise Http404
    return download(xml, content_type="application/xml", filename=f"{document.number}.xml")


@login_required
def document_action(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    user = me(request)
    document = _document_or_404(request, public_id)

    def to_invoice(data: dict[str, Any]) -> Any:
        issued = services.quotation_to_invoice(actor=user, quotation=document)
        for warning in issued.warnings:
            messages.warning(request, warning)
        return issued.document

    calls: dict[str, tuple[Callable[[dict[str, Any]], Any], Callable[[Any], str]]] = {
        "accept": (
            lambda data: services.quotation_respond(actor=user, quotation=document, accept=True),
            lambda result: _("Your answer was recorded."),
        ),
        "decline": (
            lambda data: services.quotation_respond(actor=user, quotation=document, accept=False),
            lambda result: _("Your answer was recorded."),
        ),
        "invoice": (to_invoice, lambda invoice: _("Invoice %(number)s issued.") % {"number": invoice.number}),
        "split": (
            lambda data: support_services.split_invoice(actor=user, quotation=document),
            lambda pair: (
                _("Invoices %(tamkeen)s (to Tamkeen) and %(customer)s (to the customer) issued.")
                % {"tamkeen": pair[0].document.number, "customer": pair[1].document.number}
            ),
        ),
    }
    if action not in calls:
        raise Http404
    call, success = calls[action]
    back = reverse("portal:document", kwargs={"public_id": document.public_id})
    # An invoice issued opens; the split pair opens at the customer's share.
    destinations: dict[str, Callable[[Any], str]] = {
        "invoice": lambda invoice: reverse("portal:document", kwargs={"public_id": invoice.public_id}),
        "split": lambda pair: reverse("portal:document", kwargs={"public_id": pair[1].document.public_id}),
    }
    return submit(
        request,
        ActionForm(request.POST),
        call,
        success=success,
        back=destinations.get(action, lambda result: back),
        template="portal/document_detail.html",
        context=lambda f: _document_context(request, document, action_form=f),
    )


CUSTOMER_FIELDS = ("name_ar", "name_en", "address", "phone", "email", "vat_number")


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    """The holder's customer book: 25 a page in name order (keyset pages, as deep as the book
    goes), searched by name in either language, CPR or CR number."""
    query = request.GET.get("q", "").strip()[:60]
    customers = selectors.customers_of(me(request))
    if query:
        customers = selectors.customers_matching(customers, query)
    page = keyset_of(request, customers, selectors.CUSTOMERS_ORDER)
    return render(request, "portal/customers.html", {"page": page, "q": query})


@login_required
def customer_new(request: HttpRequest) -> HttpResponse:
    user = me(request)
    errors: dict[str, list[str]] = {}
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            services.customer_create(
                actor=user,
                kind=values.get("kind", ""),
                cpr=values.get("cpr", ""),
                cr_number=values.get("cr_number", ""),
                **{name: values.get(name, "") for name in CUSTOMER_FIELDS},
                is_tamkeen_customer=values.get("is_tamkeen_customer") == "on",
            )
        except ValidationError as exc:
            errors = exc.message_dict
        except Refused as exc:
            errors = {exc.field or "__all__": [str(exc.message)]}
        else:
            messages.success(request, _("Customer added."))
            return redirect(request.GET.get("next") or reverse("portal:document_new"))
    problems, inline = field_problems(errors, CUSTOMER_PROBLEM_FIELDS)
    return render(
        request,
        "portal/customer_form.html",
        {"errors": errors, "values": values, "problems": problems, "inline": inline},
        status=400 if errors else 200,
    )


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Names, address, contacts and VAT number of an entry (its CPR or CR identify it)."""
    user = me(request)
    customer = found(lambda: selectors.customer_for(user, pk))
    errors: dict[str, list[str]] = {}
    values: Any = (
        request.POST
        if request.method == "POST"
        else {
            **{name: getattr(customer, name) for name in CUSTOMER_FIELDS},
            "is_tamkeen_customer": customer.is_tamkeen_customer,
        }
    )
    if request.method == "POST":
        try:
            services.customer_update(
                actor=user,
                customer=customer,
                **{name: values.get(name, "") for name in CUSTOMER_FIELDS},
                is_tamkeen_customer=values.get("is_tamkeen_customer") == "on",
            )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Customer updated."))
            return redirect("portal:customers")
    problems, inline = field_problems(errors, CUSTOMER_PROBLEM_FIELDS)
    return render(
        request,
        "portal/customer_form.html",
        {"errors": errors, "values": values, "customer": customer, "problems": problems, "inline": inline},
        status=400 if errors else 200,
    )


def _lines_from(post: Any) -> list[services.LineInput]:
    return [line for _row, line in _line_rows(post)]


def _line_count(post: Any) -> int:
    # One row more than a document may hold is read, so that the service says what the limit is.
    return min(parse_count(post.get("line_count", "0") or "0", limit=10**9) or 0, services.MAX_LINES + 1)


def _line_rows(post: Any) -> list[tuple[int, services.LineInput]]:
    """The lines filled in, each with the row of the form it was typed in (empty rows are left
    out, so the service's n-th line is not always the form's n-th row)."""
    lines = []
    for i in range(_line_count(post)):
        if not any(post.get(f"lines-{i}-{k}") for k in ("description", "quantity", "unit_price")):
            continue
        lines.append(
            (
                i,
                services.LineInput(
                    activity=post.get(f"lines-{i}-activity", ""),
                    description=post.get(f"lines-{i}-description", ""),
                    quantity=post.get(f"lines-{i}-quantity", ""),
                    unit=post.get(f"lines-{i}-unit", "piece"),
                    unit_price=post.get(f"lines-{i}-unit_price", ""),
                    discount=post.get(f"lines-{i}-discount", "") or "0",
                    item_code=post.get(f"lines-{i}-item_code", ""),
                    brand=post.get(f"lines-{i}-brand", ""),
                ),
            )
        )
    return lines


#: The fields each type's form shows (besides the customer, the Tamkeen number and the lines);
#: what the form was given for another type is kept in hidden ``keep-`` fields, so that changing
#: the type back and forth loses nothing typed, and the service never sees it.
_TYPE_FIELDS = {
    DocumentType.QUOTATION: {"valid_until"},
    DocumentType.INVOICE: {"due_date", "quotation", "partial", "difference_reason"},
    DocumentType.CREDIT_NOTE: {"invoice", "reason"},
    DocumentType.RECEIPT: {"payment_method", "payment_reference", "payment_amount"},
}
_ALLOCATIONS = 4


def _typed_values(post: Any) -> dict[str, str]:
    """Everything typed into the form, the kept values of other types included."""
    values: dict[str, str] = {}
    for key in post:
        if key in ("csrfmiddlewaretoken", "retype", "find_customer", "type") or key.startswith("keep-"):
            continue
        values[key] = post.get(key, "")
    for key in post:
        if key.startswith("keep-"):
            values.setdefault(key[5:], post.get(key, ""))
    return values


def _shown(type_: str, key: str) -> bool:
    if key in ("customer", "customer_q", "tamkeen_application_number"):
        return True
    if key == "line_count" or key.startswith("lines-"):
        return type_ != DocumentType.RECEIPT
    if key.startswith("alloc-"):
        return type_ == DocumentType.RECEIPT
    return key in _TYPE_FIELDS.get(DocumentType(type_), set())


def _row(i: int, values: dict[str, str], inline: dict[str, list[str]]) -> dict[str, Any]:
    fields = {name: values.get(f"lines-{i}-{name}", "") for name in services.LineInput.__dataclass_fields__}
    errors = {suffix: inline.get(f"l{i}{suffix}", []) for suffix in "adqupxc"}
    return {"i": i, "values": fields, "errors": errors}


@login_required
def document_new(request: HttpRequest) -> HttpResponse:
    """One form for every type; the lines are edited with HTMX and totals shown live."""
    user = me(request)
    licence = active_licence_of(user)
    if licence is None:
        messages.error(request, _("You need an active licence to issue official documents."))
        return redirect("portal:documents")
    post = request.POST
    type_ = post.get("type") or request.GET.get("type") or DocumentType.INVOICE
    if type_ not in DocumentType.values or type_ == DocumentType.STATEMENT:
        type_ = DocumentType.INVOICE
    errors: dict[str, list[str]] = {}
    line_rows = _line_rows(post) if request.method == "POST" else []
    lines = [line for _i, line in line_rows]
    # "retype" (the type changed) and "find_customer" (the customer search of a long book) come
    # back with what was typed; nothing is issued.
    if request.method == "POST" and "retype" not in post and "find_customer" not in post:
        data = services.DocumentInput(
            type=type_,
            customer=parse_id(post.get("customer", "")),
            lines=lines,
            quotation=post.get("quotation", ""),
            invoice=post.get("invoice", ""),
            tamkeen_application_number=post.get("tamkeen_application_number", ""),
            valid_until=_date(post.get("valid_until")),
            due_date=_date(post.get("due_date")),
            reason=post.get("reason", ""),
            payment_method=post.get("payment_method", ""),
            payment_reference=post.get("payment_reference", ""),
            payment_amount=post.get("payment_amount", ""),
            partial=post.get("partial") == "on",
            difference_reason=post.get("difference_reason", ""),
            allocations=[
                (post.get(f"alloc-{i}-invoice", ""), post.get(f"alloc-{i}-amount", ""))
                for i in range(20)
                if post.get(f"alloc-{i}-invoice") and post.get(f"alloc-{i}-amount")
            ],
        )
        try:
            if bad := _bad_dates(post, ("valid_until", "due_date")):
                raise ValidationError(bad)
            issued = services.document_issue(actor=user, data=data)
        except ValidationError as exc:
            errors = exc.message_dict
        except Refused as exc:
            errors = {exc.field or "__all__": [str(exc.message)]}
        else:
            for warning in issued.warnings:
                messages.warning(request, warning)
            messages.success(request, _("%(number)s issued.") % {"number": issued.document.number})
            return redirect("portal:document", public_id=issued.document.public_id)
    values = _typed_values(post)
    summary, inline = document_problems(errors, [i for i, _line in line_rows])
    count = max(_line_count(values), 1) if "line_count" in values else 1
    return render(
        request,
        "portal/document_form.html",
        {
            "type": type_,
            "types": [(v, label) for v, label in DocumentType.choices if v != DocumentType.STATEMENT],
            "licence": licence,
            "activities": licence.activities.all(),
            **_customer_choices(user, values if request.method == "POST" else request.GET),
            "errors": errors,
            "problems": summary,
            "inline": inline,
            "post": values,
            "kept": [(k, v) for k, v in values.items() if v and not _shown(type_, k)],
            "rows": [_row(i, values, inline) for i in range(min(count, services.MAX_LINES))],
            "allocations": [
                {
                    "n": n,
                    "invoice": values.get(f"alloc-{n}-invoice", ""),
                    "amount": values.get(f"alloc-{n}-amount", ""),
                }
                for n in range(_ALLOCATIONS)
            ],
            "lines": lines,
            "units": services.UNITS,
            "methods": PaymentMethod.choices,
            "open_invoices": selectors.documents_for(user, type_=DocumentType.INVOICE).filter(
                licence=licence
            )[:100],
            "quotations": selectors.documents_for(user, type_=DocumentType.QUOTATION).filter(licence=licence)[
                :100
            ],
            "totals": _totals(lines, licence),
        },
        status=400 if errors else 200,
    )


def _totals(lines: list[services.LineInput], licence: Any) -> dict[str, str]:
    """The live totals of the form, by the issuing rule: lines rounded to fils, VAT once per
    category on the sum of its lines."""
    registered = bool(licence.vat_number)
    nets = []
    for line in lines:
        try:
            net = money.line_net(
                # The issuing limits: a preview of numbers no column holds shows nothing.
                quantity=money.parse_amount(line.quantity or "0", maximum=services.LINE_INPUT_MAX),
                unit_price=money.parse_amount(line.unit_price or "0", maximum=services.LINE_INPUT_MAX),
                discount=money.parse_amount(line.discount or "0", maximum=services.LINE_INPUT_MAX),
            )
        except money.MoneyError:
            continue
        standard = registered and (line.vat_category or "S") == "S"
        nets.append(("S" if standard else "O", money.VAT_RATE if standard else Decimal("0"), net))
    groups = money.vat_breakdown(nets)
    subtotal = sum((g.taxable for g in groups), Decimal("0"))
    vat = sum((g.vat for g in groups), Decimal("0"))
    return {"subtotal": money.text(subtotal), "vat": money.text(vat), "total": money.text(subtotal + vat)}


@login_required
def document_line_row(request: HttpRequest) -> HttpResponse:
    """HTMX: one more empty line, numbered by the form's line count, which it advances."""
    licence = active_licence_of(me(request))
    if licence is None:
        raise Http404
    # ASCII digits within the issuing limit ("²" and Arabic-Indic digits pass isdigit(), not int()).
    index = parse_count(request.GET.get("line_count", "0"), limit=services.MAX_LINES) or 0
    return render(
        request,
        "portal/_document_line_added.html",
        {
            "i": index,
            "line_count": index + 1,
            "activities": licence.activities.all(),
            "units": services.UNITS,
            "post": {},
        },
    )


@login_required
def document_totals(request: HttpRequest) -> HttpResponse:
    """HTMX: the live totals of the lines being edited."""
    licence = active_licence_of(me(request))
    if licence is None:
        raise Http404
    return render(
        request, "portal/_document_totals.html", {"totals": _totals(_lines_from(request.POST), licence)}
    )


@login_required
def statement_new(request: HttpRequest) -> HttpResponse:
    user = me(request)
    errors: dict[str, list[str]] = {}
    post = request.POST
    if request.method == "POST" and "find_customer" not in post:
        try:
            if bad := _bad_dates(post, ("from", "to")):
                raise ValidationError(bad)
            issued = statement_issue(
                actor=user,
                customer_id=parse_id(post.get("customer", "")),
                start=_date(post.get("from")),
                end=_date(post.get("to")),
            )
        except ValidationError as exc:
            errors = exc.message_dict
        except Refused as exc:
            errors = {exc.field or "__all__": [str(exc.message)]}
        else:
            messages.success(request, _("%(number)s issued.") % {"number": issued.document.number})
            return redirect("portal:document", public_id=issued.document.public_id)
    today = timezone.localdate()
    problems, inline = field_problems(errors, STATEMENT_FIELDS)
    return render(
        request,
        "portal/statement_form.html",
        {
            **_customer_choices(user, post if request.method == "POST" else request.GET),
            "errors": errors,
            "problems": problems,
            "inline": inline,
            "post": post,
            "default_from": today.replace(day=1).isoformat(),
            "default_to": today.isoformat(),
        },
        status=400 if errors else 200,
    )
