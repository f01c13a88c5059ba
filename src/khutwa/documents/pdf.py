"""The signed PDF/A-3 of a document: bilingual, Arabic first, QR code, UBL XML attached for
invoices and credit notes, the payload attached as khutwa-document.json, signed with PAdES.
Rendered once and kept: it carries its signing time."""

from __future__ import annotations

import base64
import hashlib
import json
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
from khutwa.documents.ubl import invoice_xml
from khutwa.trust.pdf import Attachment, render_pdfa3
from khutwa.trust.qr import qr_svg
from khutwa.trust.seal import Facts

FONT_DIR = Path(fontpkg_amiri.__file__).parent / "files"
TITLES = {
    DocumentType.QUOTATION: ("تسعيرة", "Quotation"),
    DocumentType.INVOICE: ("فاتورة", "Invoice"),
    DocumentType.CREDIT_NOTE: ("إشعار دائن", "Credit note"),
    DocumentType.DELIVERY_NOTE: ("مذكرة تسليم", "Delivery note"),
    DocumentType.RECEIPT: ("سند قبض", "Receipt"),
    DocumentType.STATEMENT: ("كشف حساب", "Statement of account"),
}


def verify_url(document: Document) -> str:
    return f"{settings.KHUTWA_SITE_URL}/verify/{document.public_id}"


def facts_of(document: Document) -> Facts:
    return Facts(
        type=document.type,
        number=document.number,
        licence=document.payload["issuer"]["licence"],
        date=document.payload["issue_date"],
        total=document.payload["total"],
        vat=document.payload["vat"],
        hash=document.hash,
        kid=document.kid,
    )


def qr_of(document: Document) -> str:
    from khutwa.trust.qr import qr_content

    return qr_content(
        settings.KHUTWA_SITE_URL, str(document.public_id), facts_of(document), document.signature
    )


def ubl_of(document: Document) -> bytes | None:
    if document.type not in (DocumentType.INVOICE, DocumentType.CREDIT_NOTE):
        return None
    payload = dict(document.payload)
    payload["issuer"] = {**payload["issuer"], "trade_name_en": payload["issuer"].get("trade_name", "")}
    # The customer book keeps the address as one line of text: it goes in CityName.
    payload["customer"] = {**payload["customer"], "address": {"area": payload["customer"].get("address", "")}}
    return invoice_xml(payload, hash_hex=document.hash, verify_url=verify_url(document))


def document_html(document: Document) -> str:
    p = document.payload
    names = {a.code: a for a in Activity.objects.filter(code__in=p["issuer"]["activities"])}
    lines = [
        {**ln, "activity_name": names[ln["activity"]].name_ar if ln["activity"] in names else ln["activity"]}
        for ln in p["lines"]
    ]
    title_ar, title_en = TITLES[DocumentType(document.type)]
    if document.type == DocumentType.INVOICE and p["issuer"].get("vat_number"):
        title_ar, title_en = "فاتورة ضريبية", "Tax invoice"
    qr = qr_svg(qr_of(document))
    statement = p.get("statement")
    context: dict[str, Any] = {
        "p": {**p, "lines": lines},
        "activities": [names[c] for c in p["issuer"]["activities"] if c in names],
        "title_ar": title_ar,
        "title_en": title_en,
        "qr_data_uri": "data:image/svg+xml;base64," + base64.b64encode(qr.encode()).decode(),
        "verify_url": verify_url(document),
        "hash": document.hash,
        "kid": document.kid,
        "words_ar": money.words_ar(document.total),
        "words_en": money.words_en(document.total),
        "payment_label": PaymentMethod(p["payment"]["method"]).label if p.get("payment") else "",
        "ageing": list(statement["ageing"].values()) if statement else [],
        "font_regular_url": (FONT_DIR / "Amiri-Regular.ttf").as_uri(),
        "font_bold_url": (FONT_DIR / "Amiri-Bold.ttf").as_uri(),
    }
    return render_to_string("documents/document.pdf.html", context)


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
