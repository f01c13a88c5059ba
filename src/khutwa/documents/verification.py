"""Online verification of documents: the stored record, an uploaded PDF, or QR content."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Sum

from khutwa.documents.models import Document, DocumentType
from khutwa.documents.signing import jwks as load_jwks
from khutwa.documents.signing import key_store
from khutwa.licensing.models import LicenceStatus
from khutwa.trust.pdf import pades_verify, pdf_attachment
from khutwa.trust.verify import verify_document, verify_qr

_lock = threading.Lock()
_cached: dict[str, Any] = {}


def public_keys() -> dict[str, Any]:
    """The JWKS, re-read only when the key index changes."""
    index = Path(settings.KHUTWA_KEY_DIR) / "keys.json"
    try:
        mtime = index.stat().st_mtime
    except FileNotFoundError:
        mtime = 0.0
    with _lock:
        if _cached.get("mtime") != mtime or _cached.get("dir") != settings.KHUTWA_KEY_DIR:
            _cached["jwks"] = load_jwks()
            _cached["mtime"] = mtime
            _cached["dir"] = settings.KHUTWA_KEY_DIR
        return _cached["jwks"]


@dataclass
class Verification:
    valid: bool
    reasons: list[str]
    document: Document | None
    credited: Decimal = Decimal("0.000")
    paid: bool = False
    licence_status_now: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _chain_reasons(document: Document) -> list[str]:
    reasons = []
    neighbours = {
        d.counter: d
        for d in Document.objects.filter(
            licence_id=document.licence_id, counter__in=[document.counter - 1, document.counter + 1]
        ).only("counter", "hash", "previous_hash")
    }
    previous = neighbours.get(document.counter - 1)
    if document.counter > 1 and (previous is None or previous.hash != document.previous_hash):
        reasons.append("the previous document of this licence's chain is missing or was altered")
    following = neighbours.get(document.counter + 1)
    if following is not None and following.previous_hash != document.hash:
        reasons.append("the next document of this licence's chain does not point at this one")
    return reasons


def document_verify(document: Document) -> Verification:
    result = verify_document(
        document.payload, document.signature, document.kid, public_keys(), sealed_hash=document.hash
    )
    reasons = list(result.reasons) + _chain_reasons(document)
    credited = Decimal("0.000")
    paid = False
    if document.type == DocumentType.INVOICE:
        credited = document.credit_notes.aggregate(s=Sum("total"))["s"] or Decimal("0.000")
        allocated = document.payments.aggregate(s=Sum("amount"))["s"] or Decimal("0.000")
        paid = allocated > 0 and allocated + credited >= document.total
    return Verification(
        valid=not reasons,
        reasons=reasons,
        document=document,
        credited=credited,
        paid=paid,
        licence_status_now=document.licence.status,
    )


def licence_status_at_issue(document: Document) -> str:
    # A document is issued only by an active licence (services.active_licence).
    return LicenceStatus.ACTIVE


def qr_verify(document: Document, content: str) -> list[str]:
    """Reasons why QR content does not belong to this document (empty when it does)."""
    result = verify_qr(
        content, public_keys(), expected_base_url=settings.KHUTWA_SITE_URL, payload=document.payload
    )
    reasons = list(result.reasons)
    if result.facts is not None and result.facts.hash != document.hash:
        reasons.append("the QR's hash is not this document's")
    return reasons


def pdf_verify(pdf: bytes) -> Verification:
    """An uploaded PDF: its PAdES signature chains to the platform root and covers the whole
    file, and the payload it carries is sealed and matches the record."""
    reasons: list[str] = []
    try:
        root = key_store().ca_certificate()
    except Exception:
        root = None
    signature = pades_verify(pdf, trust_roots=[root] if root is not None else [])
    reasons.extend(signature.reasons)
    raw = pdf_attachment(pdf, "khutwa-document.json")
    if raw is None:
        return Verification(False, [*reasons, "the PDF carries no Khutwa document payload"], None)
    try:
        carried = json.loads(raw)
        payload, sig, kid = carried["payload"], carried["signature"], carried["kid"]
        public_id = payload["public_id"]
    except (ValueError, KeyError, TypeError):
        return Verification(False, [*reasons, "the Khutwa payload in the PDF is unreadable"], None)
    document = Document.objects.select_related("licence").filter(public_id=public_id).first()
    sealed = verify_document(
        payload, sig, kid, public_keys(), sealed_hash=document.hash if document else None
    )
    reasons.extend(sealed.reasons)
    if document is None:
        reasons.append("no such document was issued on Khutwa")
        return Verification(False, reasons, None)
    if payload != document.payload:
        reasons.append("the PDF's content differs from the issued document")
    online = document_verify(document)
    reasons.extend(r for r in online.reasons if r not in reasons)
    return Verification(
        not reasons and signature.ok,
        reasons,
        document,
        online.credited,
        online.paid,
        document.licence.status,
        {"signer": signature.signer},
    )
