"""The signed PDF/A-3 of a document: bilingual, Arabic first, QR code, UBL XML attached for
invoices and credit notes, the payload attached as khutwa-document.json, signed with PAdES.
Rendered once and kept: it carries its signing time."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import fontpkg_amiri
from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from khutwa.catalogue.models import Activity
from khutwa.documents import money
from khutwa.documents.models import Document, DocumentType, PaymentMethod, RenderedFile
from khutwa.documents.signing import pdf_sign
from khutwa.documents.ubl import invoice_check, invoice_xml
from khutwa.documents.verification import qr_site
from khutwa.trust.pdf import Attachment, render_pdfa3, render_pdfa3_parts
from khutwa.trust.qr import qr_svg
from khutwa.trust.seal import Facts

FONT_DIR = Path(fontpkg_amiri.__file__).parent / "files"
#: A statement with more entries than this is laid out this many entries at a time (about 17
#: pages each), so that the renderer holds one part's layout, not the whole statement's:
#: WeasyPrint's boxes take about 100 KB per entry (settings.KHUTWA_STATEMENT_PART_ENTRIES
#: overrides it; docs/scaling.md, "Statements").
STATEMENT_PART_ENTRIES = 500
TITLES = {
    DocumentType.QUOTATION: ("تسعيرة", "Quotation"),
    DocumentType.INVOICE: ("فاتورة", "Invoice"),
    DocumentType.CREDIT_NOTE: ("إشعار دائن", "Credit note"),
    DocumentType.DELIVERY_NOTE: ("مذكرة تسليم", "Delivery note"),
    DocumentType.RECEIPT: ("سند قبض", "Receipt"),
    DocumentType.STATEMENT: ("كشف حساب", "Statement of account"),
}


def verify_url(document: Document) -> str:
    """Where the document is verified: on the site it was sealed for (payload v2)."""
    return f"{qr_site(document)}/verify/{document.public_id}"


def facts_of(document: Document) -> Facts:
    """The sealed facts of a stored document: KW1 for payload v1, KW2 (with the payload's
    public id and site) for payload v2 and later."""
    from khutwa.trust.seal import seal_version

    payload = document.payload
    sealed_with_site = seal_version(payload) == "KW2"
    return Facts(
        type=document.type,
        number=document.number,
        licence=payload["issuer"]["licence"],
        date=payload["issue_date"],
        total=payload["total"],
        vat=payload["vat"],
        hash=document.hash,
        kid=document.kid,
        public_id=payload["public_id"] if sealed_with_site else None,
        site=payload["site"] if sealed_with_site else None,
    )


def qr_of(document: Document) -> str:
    """The QR content: on the site the document was sealed for (KW2), else today's site."""
    from khutwa.trust.qr import qr_content

    facts = facts_of(document)
    site = facts.site or settings.KHUTWA_SITE_URL
    return qr_content(site, str(document.public_id), facts, document.signature)


def ubl_of(document: Document) -> bytes | None:
    if document.type not in (DocumentType.INVOICE, DocumentType.CREDIT_NOTE):
        return None
    return invoice_xml(document.payload, hash_hex=document.hash, verify_url=verify_url(document))


#: Fixed bilingual wording printed on documents (never the portal's translations, which
#: follow the reader's language: a sealed document reads the same for everyone).
UNIT_LABELS = {
    "piece": ("قطعة", "piece"),
    "kg": ("كغ", "kg"),
    "hour": ("ساعة", "hour"),
    "day": ("يوم", "day"),
    "service": ("خدمة", "service"),
    "other": ("وحدة", "unit"),
}
PAYMENT_LABELS = {
    PaymentMethod.CASH: ("نقدًا", "Cash"),
    PaymentMethod.BANK_TRANSFER: ("تحويل مصرفي", "Bank transfer"),
    PaymentMethod.BENEFITPAY: ("بنفت باي", "BenefitPay"),
    PaymentMethod.CHEQUE: ("شيك", "Cheque"),
}
VAT_LABELS = {
    "S": ("الفئة القياسية", "Standard rate"),
    "Z": ("خاضع لنسبة الصفر", "Zero-rated"),
    "E": ("معفى من ضريبة القيمة المضافة", "Exempt from VAT"),
    "O": ("خارج نطاق الضريبة: المصدر غير مسجل", "Outside the scope of VAT: issuer not registered"),
}
AGEING_LABELS = {
    "not_due": ("غير مستحق بعد", "Not yet due"),
    "0-30": ("0–30 يومًا", "0–30 days"),
    "1-30": ("1–30 يومًا متأخرة", "1–30 days overdue"),
    "31-60": ("31–60 يومًا متأخرة", "31–60 days overdue"),
    "61-90": ("61–90 يومًا متأخرة", "61–90 days overdue"),
    "90+": ("أكثر من 90 يومًا متأخرة", "Over 90 days overdue"),
    "credit": ("رصيد دائن للعميل", "In the customer's credit"),
}


def _legacy_activity_names(payload: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Payload version 1 did not seal the activities' names: read today's catalogue."""
    codes = payload["issuer"].get("activities", [])
    return {a.code: {"ar": a.name_ar, "en": a.name_en} for a in Activity.objects.filter(code__in=codes)}


def pdf_context(payload: dict[str, Any]) -> dict[str, Any]:
    """What the PDF shows, from the sealed payload alone (names, words, VAT breakdown); only
    version 1 payloads, which did not seal every name, fall back on the catalogue."""
    issuer = payload["issuer"]
    names = issuer.get("activity_names") or _legacy_activity_names(payload)
    registered = bool(issuer.get("vat_number"))
    lines = []
    for ln in payload["lines"]:
        name = names.get(ln["activity"], {})
        unit_ar, unit_en = UNIT_LABELS.get(ln["unit"], (ln["unit"], ln["unit"]))
        lines.append(
            {
                **ln,
                "activity_name_ar": ln.get("activity_name_ar", name.get("ar", ln["activity"])),
                "activity_name_en": ln.get("activity_name_en", name.get("en", ln["activity"])),
                "unit_ar": unit_ar,
                "unit_en": unit_en,
            }
        )
    breakdown = payload.get("vat_breakdown")
    if breakdown is None:  # version 1: VAT per line, summed per category here for display
        sums: dict[tuple[str, str], list[Decimal]] = {}
        for ln in payload["lines"]:
            entry = sums.setdefault((ln["vat_category"], ln["vat_rate"]), [Decimal("0"), Decimal("0")])
            entry[0] += Decimal(ln["net"])
            entry[1] += Decimal(ln.get("vat", "0"))
        breakdown = [
            {"category": c, "rate": r, "taxable": money.text(t), "vat": money.text(v)}
            for (c, r), (t, v) in sums.items()
        ]
    breakdown = [
        {**g, "label_ar": VAT_LABELS[g["category"]][0], "label_en": VAT_LABELS[g["category"]][1]}
        for g in breakdown
    ]
    type_ = DocumentType(payload["type"])
    title_ar, title_en = TITLES[type_]
    if type_ == DocumentType.INVOICE and registered:
        title_ar, title_en = "فاتورة ضريبية", "Tax invoice"
    words = payload.get("total_words") or money.words(Decimal(payload["total"]))
    statement = payload.get("statement")
    payment = payload.get("payment")
    return {
        "p": {**payload, "lines": lines},
        "registered": registered,
        "activities": [
            {
                "code": code,
                "ar": names.get(code, {}).get("ar", code),
                "en": names.get(code, {}).get("en", code),
            }
            for code in issuer.get("activities", [])
        ],
        "vat_breakdown": breakdown,
        "is_split": any("share" in ln for ln in payload["lines"]),
        "title_ar": title_ar,
        "title_en": title_en,
        "words_ar": words["ar"],
        "words_en": words["en"],
        "payment_label": PAYMENT_LABELS.get(payment["method"], ("", "")) if payment else ("", ""),
        "ageing": [
            {"ar": AGEING_LABELS.get(k, (k, k))[0], "en": AGEING_LABELS.get(k, (k, k))[1], "amount": v}
            for k, v in (statement or {}).get("ageing", {}).items()
        ],
    }


def check_renderable(payload: dict[str, Any]) -> None:
    """Build from a payload everything its PDF shows and, for an invoice or credit note, check
    everything its UBL XML checks; raise if either cannot be made. Issuing calls this before the
    document is stored, in the transaction that took its number, so that a document whose PDF
    could not be rendered is never numbered (the refusal rolls the number back)."""
    pdf_context(payload)
    if payload["type"] in (DocumentType.INVOICE, DocumentType.CREDIT_NOTE):
        # What `invoice_xml` would refuse, without building it (tests/documents/test_ubl.py
        # checks the two agree).
        invoice_check(payload, verify_url=f"{payload.get('site', '')}/verify/")


def _html_context(document: Document) -> dict[str, Any]:
    qr = qr_svg(qr_of(document))
    return {
        **pdf_context(document.payload),
        "qr_data_uri": "data:image/svg+xml;base64," + base64.b64encode(qr.encode()).decode(),
        "verify_url": verify_url(document),
        "hash": document.hash,
        "kid": document.kid,
        "font_regular_url": (FONT_DIR / "Amiri-Regular.ttf").as_uri(),
        "font_bold_url": (FONT_DIR / "Amiri-Bold.ttf").as_uri(),
    }


def document_html(document: Document) -> str:
    return render_to_string("documents/document.pdf.html", _html_context(document))


def statement_part_entries() -> int:
    return int(getattr(settings, "KHUTWA_STATEMENT_PART_ENTRIES", STATEMENT_PART_ENTRIES))


def statement_parts_html(document: Document, size: int) -> Iterator[str]:
    """A statement's HTML in parts of `size` entries, one at a time: the first with everything
    above the entries and the opening balance, each next one with the balance brought forward
    (the last entry's running balance before it), the last with the closing balance, the
    ageing, the total and the footer. Without the page footer, drawn over them at the end
    (`page_numbers_html`): a part does not know the statement's page count."""
    context = _html_context(document)
    entries = document.payload["statement"]["entries"]
    for start in range(0, len(entries), size):
        part = {
            "first": start == 0,
            "last": start + size >= len(entries),
            "entries": entries[start : start + size],
            "brought_forward": entries[start - 1]["balance"] if start else None,
        }
        yield render_to_string("documents/document.pdf.html", {**context, "part": part})


def page_numbers_html(document: Document, pages: int) -> str:
    """`pages` pages with only the footer of `document.pdf.html` ("number · page / pages")."""
    context = {
        "p": {"number": document.number},
        "pages": range(pages),
        "font_regular_url": (FONT_DIR / "Amiri-Regular.ttf").as_uri(),
        "font_bold_url": (FONT_DIR / "Amiri-Bold.ttf").as_uri(),
    }
    return render_to_string("documents/page_numbers.pdf.html", context)


def document_pdf_unsigned(document: Document) -> bytes:
    attachments = [
        Attachment(
            name="khutwa-document.json",
            data=json.dumps(
                {"payload": document.payload, "signature": document.signature, "kid": document.kid},
                ensure_ascii=False,
                sort_keys=True,
            ).encode(),
            mime="application/json",
            description="Khutwa signed document payload",
            relationship="Data",
        )
    ]
    xml = ubl_of(document)
    if xml is not None:
        name = "invoice.xml" if document.type == DocumentType.INVOICE else "credit-note.xml"
        attachments.insert(
            0,
            Attachment(
                name=name, data=xml, mime="application/xml", description="UBL 2.1", relationship="Alternative"
            ),
        )
    size = statement_part_entries()
    if len((document.payload.get("statement") or {}).get("entries", ())) > size:
        return render_pdfa3_parts(
            statement_parts_html(document, size),
            overlay=lambda pages: page_numbers_html(document, pages),
            attachments=attachments,
            title=document.number,
            lang="ar",
        )
    return render_pdfa3(document_html(document), attachments=attachments, title=document.number, lang="ar")


def document_pdf(document: Document) -> bytes:
    """The stored signed PDF, rendering and signing it the first time."""
    stored = RenderedFile.objects.filter(document=document).first()
    if stored is not None:
        return bytes(stored.pdf)
    pdf = pdf_sign(document_pdf_unsigned(document), reason=f"Khutwa official document {document.number}")
    try:
        with transaction.atomic():
            RenderedFile.objects.create(document=document, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest())
    except IntegrityError:  # another request rendered it first: serve the stored one
        return bytes(RenderedFile.objects.get(document=document).pdf)
    return pdf
