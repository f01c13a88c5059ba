"""Online verification of documents: the stored record, an uploaded PDF, or QR content."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import connection, connections, router

from khutwa.documents import integrity, money, verdict_function
from khutwa.documents.models import Allocation, Document, DocumentCounter, DocumentType
from khutwa.documents.signing import jwks as load_jwks
from khutwa.documents.signing import key_store, tsa_trust_roots
from khutwa.errors import NotFound
from khutwa.licensing.models import LicenceStatus
from khutwa.ops.metrics import count_verification
from khutwa.tlog.models import Checkpoint
from khutwa.tlog.selectors import DocumentInLog, LogState, document_in_log_at
from khutwa.trust.canonical import PayloadError
from khutwa.trust.sandbox import Uncheckable, read_pdf
from khutwa.trust.seal import Facts, SealError, VerifyResult, facts_from_payload, seal_version, verify_seal
from khutwa.trust.verify import verify_document, verify_qr

_lock = threading.Lock()
_cached: dict[str, Any] = {}


def public_keys() -> dict[str, Any]:
    """The JWKS, re-read only when the key index or the configured witnesses change."""
    return _public_keys()[1]


def _public_keys() -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The JWKS and its version (what it was read from)."""
    index = Path(settings.KHUTWA_KEY_DIR) / "keys.json"
    try:
        mtime = index.stat().st_mtime
    except FileNotFoundError:
        mtime = 0.0
    # Keyed on everything the JWKS is made of: the key store (its index's time, its folder)
    # and the log's witnesses (settings; the JWKS's "tlog" member publishes them).
    version = (mtime, settings.KHUTWA_KEY_DIR, tuple(settings.KHUTWA_LOG_WITNESSES))
    with _lock:
        if _cached.get("version") != version:
            _cached["jwks"] = load_jwks()
            _cached["version"] = version
        return version, _cached["jwks"]


#: Seal checks already made by this process: (facts, signature, JWKS version) → result.
_seals: dict[tuple[Facts, str, tuple[Any, ...]], VerifyResult] = {}
SEALS_KEPT = 10_000


#: The same, by the stored payload's exact text: (its SHA-256, signature, kid, sealed hash, JWKS
#: version) → result. The text is read on every request; an altered row is other text.
_texts: dict[tuple[bytes, str, str, str, tuple[Any, ...]], VerifyResult] = {}


def _sealed_text(text: str, payload: Any, signature: str, kid: str, digest: str) -> VerifyResult:
    """`_sealed` for a payload read as text (the verdict statement's): the facts are a function
    of the text, so a text already checked with the same signature, kid, sealed hash and JWKS
    needs neither its canonical JSON nor its facts rebuilt (a tenth of a verification's CPU)."""
    version, _jwks = _public_keys()
    key = (hashlib.sha256(text.encode()).digest(), signature, kid, digest, version)
    result = _texts.get(key)
    if result is None:
        result = _sealed(payload, signature, kid, digest)
        if len(_texts) >= SEALS_KEPT:
            _texts.clear()
        _texts[key] = result
    return result


def _sealed(payload: Any, signature: str, kid: str, digest: str) -> VerifyResult:
    """`verify_document` for a stored row, with the Ed25519 check's result kept per process.

    The facts are rebuilt from the row's payload on every request (its canonical JSON's
    SHA-256 included), so a changed row has other facts and is checked again; what is kept is
    only the signature's verdict over the same facts with the same signature and the same JWKS
    (a key revoked or retired in the key index is another JWKS version). A row whose payload
    no longer hashes to its sealed hash gets the full reasons of `verify_document`."""
    version, jwks = _public_keys()
    try:
        facts = facts_from_payload(payload, kid)
    except (PayloadError, SealError, TypeError, ValueError, AttributeError):
        facts = None
    if facts is None or facts.hash != digest:
        return verify_document(payload, signature, kid, jwks, sealed_hash=digest)
    key = (facts, signature, version)
    result = _seals.get(key)
    if result is None:
        result = verify_seal(facts, signature, jwks)
        if len(_seals) >= SEALS_KEPT:
            _seals.clear()
        _seals[key] = result
    return result


@dataclass(frozen=True)
class Record:
    """What the public verdict shows of a stored document (nothing about the customer)."""

    id: int
    type: str
    number: str
    issued_at: dt.datetime
    payload: dict[str, Any]
    hash: str
    licence_number: str
    licence_status: str
    public_id: str = ""
    licence_ref: str = ""  # the licence's public reference (its public check page)


@dataclass
class Verification:
    valid: bool
    reasons: list[str]
    document: Document | None
    credited: Decimal = Decimal("0.000")
    paid: bool = False
    licence_status_now: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    record: Record | None = None
    log: DocumentInLog | None = None  # its place in the public transparency log


# One statement gathers everything a verdict needs: the row, its licence, what was credited and
# paid against it, the licence's chain counter, the hashes of the chain neighbours and of the
# document the counter names as the last, and the stored columns, lines and allocations that the
# payload states too (`integrity.stored_columns`; the links to other documents are left to
# `khutwa documents-verify`), and the public log's newest checkpoint (checkpoints are only ever
# added: a new one shows on the next request). Through the ORM these were many queries, and on
# this public, rate-limited hot path the ORM's per-query cost was most of the response time.
_VERDICT_SQL = """
SELECT d.id, d.payload{as_text}, d.hash, d.signature, d.kid, l.status, l.check_code,
       (SELECT SUM(c.total) FROM {document} c WHERE c.invoice_id = d.id AND c.type = 'credit_note'),
       (SELECT SUM(a.amount) FROM {allocation} a WHERE a.invoice_id = d.id),
       k.last, k.last_hash,
       (SELECT p.hash FROM {document} p WHERE p.licence_id = d.licence_id AND p.counter = d.counter - 1),
       (SELECT n.previous_hash FROM {document} n
         WHERE n.licence_id = d.licence_id AND n.counter = d.counter + 1),
       (SELECT h.hash FROM {document} h WHERE h.licence_id = d.licence_id AND h.counter = k.last),
       cp.id, cp.size, cp.root_hash, cp.created_at,
       {stored_columns}
{stored_from}
LEFT JOIN {counter} k ON k.licence_id = d.licence_id AND k.type = 'chain' AND k.year = 0
LEFT JOIN (SELECT id, size, root_hash, created_at FROM {checkpoint} ORDER BY size DESC LIMIT 1) cp ON 1 = 1
WHERE d.{column} = %s
"""


@functools.cache
def _sql(vendor: str, column: str) -> str:
    return _VERDICT_SQL.format(
        # As text on PostgreSQL too (the driver would decode the jsonb with json.loads all the
        # same): the seal check is kept by the payload's exact text (`_sealed_text`).
        as_text="::text" if vendor == "postgresql" else "",
        document=Document._meta.db_table,
        allocation=Allocation._meta.db_table,
        counter=DocumentCounter._meta.db_table,
        checkpoint=Checkpoint._meta.db_table,
        stored_columns=integrity.stored_columns(vendor, links=False),
        stored_from=integrity.stored_from(links=False),
        column=column,
    )


def verdict_statements(vendor: str) -> list[tuple[str, str]]:
    """The public verdict's statement and its key's type, as `verdict_function` installs it on
    PostgreSQL (the verdict by id, for holders and staff, is not on the public hot path)."""
    return [(_sql(vendor, "public_id"), "uuid")]


def _statement(db: Any, column: str) -> str:
    statement = _sql(db.vendor, column)
    if db.vendor == "postgresql" and column == "public_id":
        return verdict_function.call(db, statement) or statement
    return statement


def _amount(value: Any) -> Decimal:
    """SUMs come back as Decimal (PostgreSQL) or int/float (SQLite's NUMERIC affinity)."""
    return money.bhd(Decimal(str(value)) if value is not None else Decimal("0"))


def _moment(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite keeps UTC as text
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _issued_at(sealed: Any, stored: Any) -> dt.datetime:
    """The sealed issue time (the payload's, to the second), else the stored column's."""
    if isinstance(sealed, str):
        try:
            moment = dt.datetime.fromisoformat(sealed)
        except ValueError:
            return _moment(stored)
        if moment.tzinfo:
            return moment
    return _moment(stored)


def _verdict(column: str, value: Any, *, public_id: str) -> Verification | None:
    # The replica when the public verification reads from one (config/routers.py).
    db = connections[router.db_for_read(Document)]
    with db.cursor() as cursor:
        cursor.execute(_statement(db, column), [value])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, payload, digest, signature, kid, licence_status, check_code = row[:7]
    credited, allocated, last, last_hash, before_hash, after_previous, head_hash = row[7:14]
    checkpoint_id, checkpoint_size, checkpoint_root, checkpoint_at = row[14:18]
    stored, related = integrity.stored_of(row[18:], links=False)
    if isinstance(payload, str):
        text, payload = payload, json.loads(payload)
        result = _sealed_text(text, payload, signature, kid, digest)
    else:
        result = _sealed(payload, signature, kid, digest)
    reasons = list(result.reasons)
    reasons += integrity.stored_vs_sealed(stored, related, payload)
    counter, previous_hash, total = stored.counter, stored.previous_hash, stored.total
    if counter > 1 and before_hash != previous_hash:
        reasons.append("the previous document of this licence's chain is missing or was altered")
    if after_previous is not None and after_previous != digest:
        reasons.append("the next document of this licence's chain does not point at this one")
    elif after_previous is None and last is not None and counter < last:
        reasons.append(f"the next document of this licence's chain (counter {counter + 1}) is missing")
    reasons += integrity.chain_head_reasons(last, last_hash, head_hash)
    if last is not None and counter > last:
        reasons.append(f"this document's counter ({counter}) is beyond the licence's last counter ({last})")
    # The public log: the entry of its sealed facts, proved against the newest checkpoint.
    latest = None
    if checkpoint_id is not None:
        latest = Checkpoint(
            id=checkpoint_id,
            size=checkpoint_size,
            root_hash=checkpoint_root,
            created_at=_moment(checkpoint_at),
        )
    log = document_in_log_at(
        latest,
        number=str(payload.get("number", stored.number)),
        public_id=public_id,
        hash=digest,
        issued_at=_issued_at(payload.get("issued_at"), stored.issued_at),
    )
    if log.state == LogState.MISSING:
        reasons.append(log.problem)
    credited_amount = _amount(credited)
    paid = False
    if stored.type == DocumentType.INVOICE:
        paid_amount = _amount(allocated)
        # A fully credited invoice is credited, not paid.
        paid = paid_amount > 0 and paid_amount + credited_amount >= _amount(total) > credited_amount
    record = Record(
        pk,
        stored.type,
        stored.number,
        _moment(stored.issued_at),
        payload,
        digest,
        stored.licence or "",
        licence_status,
        public_id,
        f"{stored.licence}-{check_code}" if stored.licence else "",  # Licence.public_ref
    )
    return Verification(
        valid=not reasons,
        reasons=reasons,
        document=None,
        credited=credited_amount if stored.type == DocumentType.INVOICE else Decimal("0.000"),
        paid=paid,
        licence_status_now=licence_status,
        record=record,
        log=log,
    )


def public_verify(public_id: Any) -> Verification:
    """The verdict on a document by its public id, in one query; NotFound when there is none."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound("Not found.") from None
    value = Document._meta.get_field("public_id").get_db_prep_value(key, connection)
    verdict = _verdict("public_id", value, public_id=str(key))
    if verdict is None:
        count_verification("record", "not_found")
        raise NotFound("Not found.")
    count_verification("record", "valid" if verdict.valid else "invalid")
    return verdict


def document_verify(document: Document) -> Verification:
    """The verdict on a stored document: its seal, its place in the chain, credited and paid."""
    verdict = _verdict("id", document.pk, public_id=str(document.public_id))
    if verdict is None:
        raise NotFound("Not found.")
    verdict.document = document
    return verdict


def licence_status_at_issue(document: Document | Record) -> str:
    # A document is issued only by an active licence (services.active_licence).
    return LicenceStatus.ACTIVE


def qr_site(document: Document | Record) -> str:
    """The site of a document's QR: the one it was sealed for (KW2, payload v2), else today's."""
    if seal_version(document.payload) == "KW2":
        return str(document.payload["site"])
    return str(settings.KHUTWA_SITE_URL)


def qr_verify(document: Document | Record, content: str) -> list[str]:
    """Reasons why QR content does not belong to this document (empty when it does). A KW2
    QR must be signed for the site its document was sealed for; a KW1 QR must point to
    today's site (its site is not signed)."""
    result = verify_qr(content, public_keys(), expected_base_url=qr_site(document), payload=document.payload)
    reasons = list(result.reasons)
    if result.facts is not None and result.facts.hash != document.hash:
        reasons.append("the QR's hash is not this document's")
    return reasons


def pdf_verify(pdf: bytes) -> Verification:
    """The verdict on an uploaded PDF (see `_pdf_verify`), counted for the operator's metrics."""
    try:
        verdict = _pdf_verify(pdf)
    except Uncheckable:
        count_verification("pdf", "uncheckable")
        raise
    count_verification("pdf", "valid" if verdict.valid else "invalid")
    return verdict


def _pdf_verify(pdf: bytes) -> Verification:
    """An uploaded PDF: its PAdES signature chains to a platform root as of the time its
    time-stamps prove it was made (so it stays valid after the certificate expires), nothing
    but validation data and time-stamps was added after it, and the payload it carries is
    sealed and matches the record.

    Raises `khutwa.trust.sandbox.Uncheckable` when the file cannot be checked at all (not a
    readable PDF, or it exceeds the time, memory or unpacked-size limits)."""
    reasons: list[str] = []
    try:
        store = key_store()
        roots, crls = store.trust_roots(), store.crls()
    except Exception:
        roots, crls = [], []
    # As of signing time: the time-stamps prove when; the CRLs at hand are today's. The file
    # is parsed in a child process with limits (raises Uncheckable).
    der = serialization.Encoding.DER
    reading = read_pdf(
        pdf,
        trust_roots=[c.public_bytes(der) for c in roots],
        tsa_roots=[c.public_bytes(der) for c in tsa_trust_roots()],
        crls=[c.public_bytes(der) for c in crls],
    )
    signature = reading.signature
    reasons.extend(signature.reasons)
    raw = reading.payload
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
        {"signer": signature.signer, "signed_at": signature.signed_at, "pades_level": signature.level},
    )
