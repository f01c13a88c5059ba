"""The automatic checks of a claim, each with its own result and reason (bilingual)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from khutwa.documents.models import Document, DocumentType
from khutwa.documents.verification import document_verify
from khutwa.licensing.models import LicenceStatus


@dataclass(frozen=True)
class Check:
    check: str
    passed: bool
    document: str
    reason_ar: str
    reason_en: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def claimed_amount(documents: list[Document]) -> Decimal:
    """Invoices less the credit notes that correct them."""
    invoices = sum((d.total for d in documents if d.type == DocumentType.INVOICE), Decimal("0"))
    credits = Decimal("0")
    for invoice in (d for d in documents if d.type == DocumentType.INVOICE):
        credits += invoice.credit_notes.aggregate(s=Sum("total"))["s"] or Decimal("0")
    return max(Decimal("0.000"), invoices - credits)


def run(*, application: Any, documents: list[Document], user: Any) -> list[Check]:
    programme = application.programme
    quotation = application.quotation
    results: list[Check] = []

    def add(name: str, ok: bool, document: str, ar: str, en: str) -> None:
        results.append(Check(name, ok, document, ar, en))

    for doc in documents:
        verdict = document_verify(doc)
        add(
            "authentic",
            verdict.valid,
            doc.number,
            "المستند أصلي ولم يُعدَّل." if verdict.valid else "المستند غير موثوق: " + "; ".join(verdict.reasons),
            "Authentic and unaltered." if verdict.valid else "Not authentic: " + "; ".join(verdict.reasons),
        )
        # Issuing requires an active licence (documents.services.active_licence), so a sealed
        # document was issued by an active licence; it must still not be revoked for cause.
        licence = doc.licence
        in_force = (
            licence.valid_from <= doc.issue_date <= licence.valid_until
            and licence.status != LicenceStatus.CANCELLED
        )
        add(
            "licence_active",
            in_force,
            doc.number,
            f"صدر بترخيص {licence.number} الساري في تاريخه."
            if in_force
            else f"الترخيص {licence.number} لم يكن ساريًا.",
            f"Issued under licence {licence.number}, active on its date."
            if in_force
            else f"Licence {licence.number} was not in force.",
        )
        licensed = {a.pk for a in licence.activities.all()}
        outside = [
            line.activity.name_en
            for line in doc.lines.select_related("activity")
            if line.activity_id not in licensed
        ]
        add(
            "activity_licensed",
            not outside,
            doc.number,
            "الأنشطة مرخصة." if not outside else "أنشطة غير مرخصة: " + ", ".join(outside),
            "Its activities are licensed."
            if not outside
            else "Activities outside the licence: " + ", ".join(outside),
        )
        addressed = bool(user.cpr) and doc.customer.cpr == user.cpr
        add(
            "addressed_to_claimant",
            addressed,
            doc.number,
            "موجه إلى مقدم المطالبة." if addressed else "المستند غير موجه إليك.",
            "Addressed to the claimant." if addressed else "The document is not addressed to you.",
        )

    invoices = [d for d in documents if d.type == DocumentType.INVOICE]
    add(
        "has_invoice",
        bool(invoices),
        "",
        "أرفقت فاتورة." if invoices else "لا توجد فاتورة.",
        "An invoice is attached." if invoices else "No invoice is attached.",
    )
    for invoice in invoices:
        refs = invoice.payload.get("references", {})
        matches = quotation is not None and refs.get("quotation") == quotation.number
        add(
            "references_quotation",
            matches,
            invoice.number,
            "تشير الفاتورة إلى التسعيرة المعتمدة." if matches else "لا تشير الفاتورة إلى التسعيرة المعتمدة.",
            "The invoice references the approved quotation."
            if matches
            else "The invoice does not reference the approved quotation.",
        )
        if quotation is not None:
            limit = (quotation.total * (1 + programme.invoice_tolerance)).quantize(Decimal("0.001"))
            within = invoice.total <= limit
            add(
                "within_quotation",
                within,
                invoice.number,
                f"الفاتورة ({invoice.total}) ضمن التسعيرة والهامش ({limit})."
                if within
                else f"الفاتورة ({invoice.total}) تتجاوز التسعيرة والهامش ({limit}).",
                f"The invoice ({invoice.total}) is within the quotation and tolerance ({limit})."
                if within
                else f"The invoice ({invoice.total}) exceeds the quotation and tolerance ({limit}).",
            )
        number_ok = invoice.tamkeen_application_number == application.reference
        add(
            "tamkeen_number",
            number_ok,
            invoice.number,
            "رقم طلب تمكين مطابق." if number_ok else "رقم طلب تمكين على الفاتورة غير مطابق.",
            "The Tamkeen application number matches."
            if number_ok
            else f"The invoice carries “{invoice.tamkeen_application_number}”, not {application.reference}.",
        )
        credited = invoice.credit_notes.aggregate(s=Sum("total"))["s"] or Decimal("0")
        if programme.claim_requires_receipt:
            receipts = [d for d in documents if d.type == DocumentType.RECEIPT]
            covered = (
                sum((a.amount for r in receipts for a in r.allocations.filter(invoice=invoice)), Decimal("0"))
                + credited
            )
            ok = covered >= invoice.total
            add(
                "receipts_cover",
                ok,
                invoice.number,
                "الإيصالات تغطي الفاتورة." if ok else f"الإيصالات تغطي {covered} فقط من {invoice.total}.",
                "The receipts cover the invoice."
                if ok
                else f"The receipts cover only {covered} of {invoice.total}.",
            )
        add(
            "credit_notes_deducted",
            True,
            invoice.number,
            f"خُصمت الإشعارات الدائنة ({credited}).",
            f"Credit notes deducted ({credited}).",
        )
    if programme.claim_requires_delivery_note:
        has_note = any(d.type == DocumentType.DELIVERY_NOTE for d in documents)
        add(
            "delivery_note",
            has_note,
            "",
            "أرفقت مذكرة التسليم." if has_note else "لا توجد مذكرة تسليم.",
            "A delivery note is attached." if has_note else "No delivery note is attached.",
        )
    add(
        "not_used_twice",
        True,
        "",
        "لم يُستخدم أي مستند في مطالبة أخرى.",
        "No document is used by another claim (enforced by the database).",
    )
    return results
