"""What each event says, and whose business it is (docs/integration.md, "Events").

Payloads carry ids, public references (document numbers, licence numbers, the public
verification and licence-check links), amounts and API links; never a CPR, a person's name, a
phone number, an address or free text that an official typed (a reason may name a person).
Each builder is lazy: nothing is read unless some subscription wants the event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from khutwa.documents.models import Document
    from khutwa.licensing.models import Licence
    from khutwa.support.models import Claim, PayoutBatch, SupportApplication


@dataclass
class Emission:
    """One event to emit: its type, its object, the licence holders it concerns (their own
    subscriptions receive it) and whether it is Tamkeen's business."""

    type: str
    object_type: str
    object_id: str
    data: Callable[[], dict[str, Any]]
    holders: set[int] = field(default_factory=set)
    tamkeen: Callable[[], bool] = lambda: False


def _site() -> str:
    return settings.KHUTWA_SITE_URL.rstrip("/")


def _money(amount: Decimal) -> str:
    return f"{amount:.3f}"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return str(value.isoformat())


# Documents --------------------------------------------------------------------------------


def document_data(document: Document) -> dict[str, Any]:
    from khutwa.documents.pdf import verify_url

    return {
        "public_id": str(document.public_id),
        "type": document.type,
        "number": document.number,
        "licence": document.licence.number,
        "issued_at": _iso(document.issued_at),
        "issue_date": _iso(document.issue_date),
        "currency": document.currency,
        "subtotal": _money(document.subtotal),
        "vat": _money(document.vat),
        "total": _money(document.total),
        "hash": document.hash,
        "tamkeen_application_number": document.tamkeen_application_number or None,
        "references": {
            "quotation": str(document.quotation.public_id) if document.quotation_id else None,  # type: ignore[union-attr]
            "invoice": str(document.invoice.public_id) if document.invoice_id else None,  # type: ignore[union-attr]
        },
        "verify_url": verify_url(document),
        "url": f"{_site()}/api/v1/documents/{document.public_id}",
    }


def _document_ref(document: Document) -> dict[str, Any]:
    return {
        "public_id": str(document.public_id),
        "type": document.type,
        "number": document.number,
        "total": _money(document.total),
        "url": f"{_site()}/api/v1/documents/{document.public_id}",
    }


def is_tamkeen_document(document: Document) -> bool:
    """Issued to Tamkeen, carrying a Tamkeen application number, or cited by a support
    application (its quotation, or the invoice of that quotation) or by a claim."""
    from khutwa.support.models import ClaimDocument, SupportApplication

    if document.tamkeen_application_number or document.customer.is_tamkeen:
        return True
    quotations = [pk for pk in (document.pk, document.quotation_id) if pk]
    if SupportApplication.objects.filter(quotation_id__in=quotations).exists():
        return True
    return ClaimDocument.objects.filter(document_id__in=[document.pk, document.invoice_id or 0]).exists()


def _holders_of(document: Document) -> set[int]:
    holder_id = document.licence.holder_id
    return {holder_id} if holder_id else set()


def document_issued(document: Document) -> list[Emission]:
    """document.issued, and for a credit note document.credited, for a receipt document.paid
    per invoice it pays."""
    from khutwa.documents.models import DocumentType
    from khutwa.documents.services import credited_amount, outstanding

    holders = _holders_of(document)
    emissions = [
        Emission(
            type="document.issued",
            object_type="document",
            object_id=str(document.public_id),
            data=lambda: {"document": document_data(document)},
            holders=holders,
            tamkeen=lambda: is_tamkeen_document(document),
        )
    ]
    if document.type == DocumentType.CREDIT_NOTE and document.invoice_id:
        invoice = document.invoice
        assert invoice is not None  # noqa: S101 - invoice_id is set
        emissions.append(
            Emission(
                type="document.credited",
                object_type="document",
                object_id=str(invoice.public_id),
                data=lambda: {
                    "invoice": _document_ref(invoice),
                    "credit_note": _document_ref(document),
                    "credited_total": _money(credited_amount(invoice)),
                    "outstanding": _money(outstanding(invoice)),
                },
                holders=holders,
                tamkeen=lambda: is_tamkeen_document(invoice) or is_tamkeen_document(document),
            )
        )
    if document.type == DocumentType.RECEIPT:
        for allocation in document.allocations.select_related("invoice__licence", "invoice__customer"):
            emissions.append(_paid(document, allocation.invoice, allocation.amount, holders))
    return emissions


def _paid(receipt: Document, invoice: Document, amount: Decimal, holders: set[int]) -> Emission:
    from khutwa.documents.services import outstanding, paid_amount

    def data() -> dict[str, Any]:
        left = outstanding(invoice)
        return {
            "invoice": _document_ref(invoice),
            "receipt": _document_ref(receipt),
            "amount": _money(amount),
            "paid_total": _money(paid_amount(invoice)),
            "outstanding": _money(left),
            "is_fully_paid": left <= 0,
        }

    return Emission(
        type="document.paid",
        object_type="document",
        object_id=str(invoice.public_id),
        data=data,
        holders=holders,
        tamkeen=lambda: is_tamkeen_document(invoice) or is_tamkeen_document(receipt),
    )


def quotation_answered(quotation: Document, answer: str) -> list[Emission]:
    return [
        Emission(
            type=f"quotation.{answer}",
            object_type="document",
            object_id=str(quotation.public_id),
            data=lambda: {"quotation": _document_ref(quotation), "answer": answer},
            holders=_holders_of(quotation),
            tamkeen=lambda: is_tamkeen_document(quotation),
        )
    ]


# Licences ---------------------------------------------------------------------------------


def licence_data(licence: Licence) -> dict[str, Any]:
    from khutwa.licensing.certificate import licence_check_url

    return {
        "number": licence.number,
        "status": licence.status,
        "tier": licence.tier.code,
        "activities": sorted(licence.activities.values_list("code", flat=True)),
        "valid_from": _iso(licence.valid_from),
        "valid_until": _iso(licence.valid_until),
        "check_url": licence_check_url(licence),
        "url": f"{_site()}/api/v1/licences/{licence.public_ref}",
    }


def licence_changed(licence: Licence, kind: str) -> list[Emission]:
    def tamkeen() -> bool:
        from khutwa.support.models import SupportApplication

        # The holder is supported, or Tamkeen supports a purchase from this licence.
        return SupportApplication.objects.filter(
            Q(beneficiary_id=licence.holder_id) | Q(licence=licence) | Q(quotation__licence=licence)
        ).exists()

    return [
        Emission(
            type=f"licence.{kind}",
            object_type="licence",
            object_id=licence.number,
            data=lambda: {"licence": licence_data(licence)},
            holders={licence.holder_id} if licence.holder_id else set(),
            tamkeen=tamkeen,
        )
    ]


# Support ----------------------------------------------------------------------------------


def support_decided(application: SupportApplication, decision: str) -> list[Emission]:
    def data() -> dict[str, Any]:
        return {
            "application": {
                "id": application.pk,
                "reference": application.reference,
                "programme": application.programme.code,
                "status": application.status,
                "decision": decision,
                "entitlement": _money(application.entitlement),
                "expires_on": _iso(application.expires_on),
                "quotation": str(application.quotation.public_id) if application.quotation else None,
                "decided_at": _iso(application.decided_at),
                "url": f"{_site()}/api/v1/support/applications/{application.pk}",
            }
        }

    return [
        Emission(
            type="support.application.decided",
            object_type="support_application",
            object_id=str(application.pk),
            data=data,
            holders={application.beneficiary_id},
            tamkeen=lambda: True,
        )
    ]


def claim_changed(claim: Claim, kind: str) -> list[Emission]:
    def data() -> dict[str, Any]:
        documents = claim.documents.select_related("document").order_by("pk")
        return {
            "claim": {
                "id": claim.pk,
                "status": claim.status,
                "application": claim.application_id,
                "application_reference": claim.application.reference,
                "payable": _money(claim.payable),
                "documents": [str(d.document.public_id) for d in documents],
                "url": f"{_site()}/api/v1/support/claims/{claim.pk}",
            }
        }

    holders = {claim.application.beneficiary_id}
    if claim.payee_id:
        holders.add(claim.payee_id)
    return [
        Emission(
            type=f"claim.{kind}",
            object_type="claim",
            object_id=str(claim.pk),
            data=data,
            holders=holders,
            tamkeen=lambda: True,
        )
    ]


def batch_paid(batch: PayoutBatch) -> list[Emission]:
    def data() -> dict[str, Any]:
        payouts = list(batch.payouts.order_by("claim_id"))
        return {
            "batch": {
                "id": batch.pk,
                "reference": batch.reference,
                "status": batch.status,
                "execution_date": _iso(batch.execution_date),
                "paid_at": _iso(batch.paid_at),
                "currency": "BHD",
                "total": _money(sum((p.amount for p in payouts), Decimal("0.000"))),
                "claims": [p.claim_id for p in payouts],
                "url": f"{_site()}/api/v1/support/payout-batches/{batch.pk}/pain001",
            }
        }

    return [
        Emission(
            type="payout_batch.paid",
            object_type="payout_batch",
            object_id=str(batch.pk),
            data=data,
            tamkeen=lambda: True,
        )
    ]
