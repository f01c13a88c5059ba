"""The automatic checks of a claim, each with its own result and reason (bilingual)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from khutwa.documents.models import Document, DocumentType
from khutwa.documents.selectors import addressed_to
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


def _credited(invoice: Document) -> Decimal:
    return invoice.credit_notes.aggregate(s=Sum("total"))["s"] or Decimal("0")


def tamkeen_share(document: Document) -> bool:
    """An invoice of a split pair addressed to the Labour Fund for its share."""
    return (
        document.type == DocumentType.INVOICE
        and document.split_group is not None
        and document.customer.is_tamkeen
    )


def split_partner(document: Document, documents: list[Document], user: Any) -> Document | None:
    """For Tamkeen's share of a split pair: the pair's other share, if it is among `documents`
    and addressed to the user."""
    return next(
        (
            other
            for other in documents
            if other.pk != document.pk
            and other.split_group == document.split_group
            and not tamkeen_share(other)
            and addressed_to(user, other.customer)
        ),
        None,
    )


def claimable(user: Any, document: Document, documents: list[Document]) -> bool:
    """Whether the user may rest a claim on this document, claimed together with `documents`:
    one addressed to them, or Tamkeen's share of a split pair whose other share, addressed to
    them, is in the same claim. (Tamkeen's share is addressed to the Labour Fund: it is never
    claimable on its own, whoever's account a CR is linked to.)"""
    if tamkeen_share(document):
        return split_partner(document, documents, user) is not None
    return addressed_to(user, document.customer)


def claimed_amount(documents: list[Document]) -> Decimal:
    """Invoices less the credit notes that correct them."""
    invoices = [d for d in documents if d.type == DocumentType.INVOICE]
    net = sum((d.total - _credited(d) for d in invoices), Decimal("0"))
    return max(Decimal("0.000"), net)


def payable(*, application: Any, documents: list[Document], claimed: Decimal) -> Decimal:
    """What Tamkeen pays: with split invoicing, its own invoice (less credit notes) to the
    supplier; otherwise its rate of the claimed amount (`claimed_amount(documents)`) to the
    beneficiary; never above the reserved entitlement."""
    shares = [d for d in documents if tamkeen_share(d)]
    if shares:
        due = claimed_amount(shares)
    else:
        due = (application.programme.rate * claimed).quantize(Decimal("0.001"))
    return max(Decimal("0.000"), min(application.entitlement, due))


def _sales(invoices: list[Document]) -> list[list[Document]]:
    """Invoices grouped by sale: a split pair is one sale, any other invoice is its own."""
    groups: dict[Any, list[Document]] = {}
    for invoice in invoices:
        groups.setdefault(invoice.split_group or invoice.pk, []).append(invoice)
    return list(groups.values())


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
        # claim_submit refuses a document that is not `claimable`; the check stays as a second
        # line of defence and says why a Tamkeen share counts.
        if tamkeen_share(doc):
            partner = split_partner(doc, documents, user)
            paired = programme.split_invoicing and partner is not None
            add(
                "addressed_to_claimant",
                paired,
                doc.number,
                f"حصة تمكين، مفوترة إلى تمكين مع فاتورتك {partner.number}."
                if paired and partner
                else "فاتورة حصة تمكين دون فاتورتك المقابلة، أو البرنامج لا يعمل بالفوترة المجزأة.",
                f"Tamkeen's share, invoiced to Tamkeen together with your invoice {partner.number}."
                if paired and partner
                else "A Tamkeen-share invoice without your paired invoice, or the programme does not "
                "use split invoicing.",
            )
        else:
            addressed = addressed_to(user, doc.customer)
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
        credited = _credited(invoice)
        if tamkeen_share(invoice):
            add(
                "receipts_cover",
                True,
                invoice.number,
                "حصة تمكين: يدفعها تمكين للمورد.",
                "Tamkeen's share: Tamkeen pays it to the supplier.",
            )
        elif programme.claim_requires_receipt:
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
    for sale in _sales(invoices):
        label = " + ".join(i.number for i in sale)
        total = sum((i.total for i in sale), Decimal("0"))
        if quotation is not None:
            limit = (quotation.total * (1 + programme.invoice_tolerance)).quantize(Decimal("0.001"))
            within = total <= limit
            add(
                "within_quotation",
                within,
                label,
                f"الفاتورة ({total}) ضمن التسعيرة والهامش ({limit})."
                if within
                else f"الفاتورة ({total}) تتجاوز التسعيرة والهامش ({limit}).",
                f"The invoiced amount ({total}) is within the quotation and tolerance ({limit})."
                if within
                else f"The invoiced amount ({total}) exceeds the quotation and tolerance ({limit}).",
            )
        if programme.split_invoicing:
            shares = [i for i in sale if tamkeen_share(i)]
            share = sum((i.total for i in shares), Decimal("0"))
            # Each line is split half-up to the fils, so the share may exceed rate × total by
            # half a fils a line.
            lines = sum(len(i.payload.get("lines", [])) for i in shares)
            most = (programme.rate * total).quantize(Decimal("0.001")) + Decimal("0.001") * lines
            ok = len(shares) == 1 and len(sale) == 2 and share <= most
            add(
                "split_invoicing",
                ok,
                label,
                f"حصة تمكين ({share}) مفوترة إلى تمكين، ولا تتجاوز {most}."
                if ok
                else "يلزم زوج فواتير: حصة تمكين إلى تمكين (لا تتجاوز نسبة الدعم) والباقي إليك.",
                f"Tamkeen's share ({share}) is invoiced to Tamkeen and within {most}."
                if ok
                else "A split pair is needed: Tamkeen's share (within the subsidy rate) invoiced to "
                "Tamkeen, the rest to you.",
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
