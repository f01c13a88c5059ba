"""Offline verification of Khutwa documents with nothing but the platform's JWKS.

- ``verify_qr``: the QR content alone (for a KW2 seal every character of it is signed; for
  KW1 give the document's payload, then every character of the QR is covered, and the
  official site, then its host is too);
- ``verify_document``: a payload with its signature and key id (what a PDF carries);
- ``chain_verify``: one licence's documents, in counter order, checked link by link.

Reasons are English sentences; the fixed ones are the ``REASON_*`` constants. Pure Python;
no Django import.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

from khutwa.trust.canonical import PayloadError, canonical_json, sha256_hex
from khutwa.trust.qr import QrError, parse_qr
from khutwa.trust.seal import (
    REASON_BAD_SIGNATURE,
    Facts,
    SealError,
    VerifyResult,
    facts_from_payload,
    verify_seal,
)

__all__ = [
    "GENESIS_HASH",
    "REASON_BAD_SIGNATURE",
    "REASON_HASH_DIFFERS",
    "VerifyResult",
    "chain_verify",
    "reason_other_site",
    "verify_document",
    "verify_qr",
]

REASON_HASH_DIFFERS = "payload hash differs from the sealed hash"

#: ``chain.previous_hash`` of a licence's first document (counter 1).
GENESIS_HASH = "0" * 64


def reason_other_site(signed_site: str | None, expected: str) -> str:
    """Why a QR (or a document) is refused for another site than the official one."""
    if signed_site is None:  # KW1: the URL's site, which the signature does not cover
        return f"the QR does not point to the official site {expected}"
    return f"the document is signed for the site {signed_site}, not the official site {expected}"


def _payload_facts(payload: Any, kid: str) -> Facts | str:
    if not isinstance(payload, Mapping):
        return "the payload is not a JSON object"
    try:
        return facts_from_payload(payload, kid)
    except PayloadError as exc:
        return f"the payload cannot be canonicalised: {exc}"
    except SealError as exc:
        return f"the payload's facts are invalid: {exc}"


def verify_document(
    payload: dict[str, Any],
    signature: str,
    kid: str,
    jwks: Mapping[str, Any],
    *,
    sealed_hash: str | None = None,
) -> VerifyResult:
    """Verify a payload against its signature: rebuild the facts from ``type``, ``number``,
    ``issuer.licence``, ``issue_date``, ``total``, ``vat``, the SHA-256 of its canonical JSON
    (and, for a payload ``"v": 2`` or later, its ``public_id`` and ``site``: KW2), then check
    the seal's signature with key ``kid`` of ``jwks``.

    Without ``sealed_hash`` an altered payload shows as "signature does not match the
    seal". With it (the hash published by the API or read from the QR), an altered payload
    shows as "payload hash differs from the sealed hash", followed by the signature reason
    only when the sealed facts themselves (type, number, ..., VAT) were altered too."""
    facts = _payload_facts(payload, kid)
    if isinstance(facts, str):
        return VerifyResult(False, [facts], None, None)
    if sealed_hash is None or sealed_hash == facts.hash:
        return verify_seal(facts, signature, jwks)
    try:
        claimed = replace(facts, hash=sealed_hash)
    except SealError as exc:
        return VerifyResult(False, [REASON_HASH_DIFFERS, f"the sealed hash is malformed: {exc}"], facts, None)
    result = verify_seal(claimed, signature, jwks)
    return VerifyResult(False, [REASON_HASH_DIFFERS, *result.reasons], facts, result.key_status)


def verify_qr(
    content: str,
    jwks: Mapping[str, Any],
    *,
    expected_base_url: str | None = None,
    payload: dict[str, Any] | None = None,
) -> VerifyResult:
    """Verify QR content offline: parse it, check the seal's signature. The facts are those
    of the seal.

    A KW2 seal signs the site and the public id of the URL as well (``result.signed_site``):
    every character of the content is covered. A KW1 seal leaves them unsigned. Give
    ``expected_base_url`` (the official site) to refuse another site (KW2: the signed site,
    KW1: the URL's), and ``payload`` (the document, e.g. from the PDF or the online record) to
    check that the QR belongs to it (same public id, same hash, same facts, same site)."""
    try:
        public_id, facts, signature = parse_qr(content)
    except QrError as exc:
        return VerifyResult(False, [f"malformed QR content: {exc}"], None, None)
    result = verify_seal(facts, signature, jwks)
    reasons = list(result.reasons)
    if expected_base_url is not None:
        expected = expected_base_url.rstrip("/")
        if facts.site is not None:
            if facts.site != expected:
                reasons.append(reason_other_site(facts.site, expected))
        elif not content.startswith(f"{expected}/verify/"):
            reasons.append(reason_other_site(None, expected))
    if payload is not None:
        reasons.extend(_compare_with_payload(public_id, facts, payload))
    return VerifyResult(not reasons, reasons, facts, result.key_status)


def _compare_with_payload(public_id: str, sealed: Facts, payload: Mapping[str, Any]) -> list[str]:
    reasons: list[str] = []
    if not isinstance(payload, Mapping) or payload.get("public_id") != public_id:
        theirs = payload.get("public_id") if isinstance(payload, Mapping) else None
        reasons.append(f"the QR's public id {public_id} is not the document's ({theirs})")
    facts = _payload_facts(payload, sealed.kid)
    if isinstance(facts, str):
        return [*reasons, facts]
    if facts.hash != sealed.hash:
        reasons.append(REASON_HASH_DIFFERS)
    if facts.version != sealed.version:
        reasons.append(f"the QR's seal is {sealed.version} but the document is sealed with {facts.version}")
    for f in fields(Facts):
        if f.name in ("hash", "kid", "public_id") or (f.name == "site" and facts.version != sealed.version):
            continue  # reported above
        if getattr(facts, f.name) != getattr(sealed, f.name):
            reasons.append(f"the sealed {f.name} {getattr(sealed, f.name)!r} is not the document's")
    return reasons


def _chain(payload: Any) -> tuple[Any, Any, Any] | None:
    if not isinstance(payload, Mapping) or not isinstance(payload.get("chain"), Mapping):
        return None
    chain = payload["chain"]
    return chain.get("licence"), chain.get("counter"), chain.get("previous_hash")


def chain_verify(payloads: Sequence[Mapping[str, Any]], *, expected_last: int | None = None) -> list[str]:
    """Check one licence's documents, given sorted by ``chain.counter``: counters start at
    1 and run without gap or duplicate, and each ``chain.previous_hash`` is the SHA-256 of
    the canonical JSON of the document with the previous counter (``GENESIS_HASH``, 64 zeros,
    for counter 1).
    An inserted, altered or reordered document breaks a link. A chain cannot see its own
    truncation: give ``expected_last`` (the licence's last counter, as published) for that.
    Returns the problems in English; an empty list when the chain is intact."""
    problems: list[str] = []
    hashes: dict[int, list[str]] = {}
    counters: list[int] = []
    entries: list[tuple[int, int, Any]] = []  # (position, counter, previous_hash)
    licences: set[str] = set()
    for position, payload in enumerate(payloads, start=1):
        chain = _chain(payload)
        if chain is None:
            problems.append(f"document {position} has no chain member")
            continue
        licence, counter, previous_hash = chain
        if isinstance(counter, bool) or not isinstance(counter, int) or counter < 1:
            problems.append(f"document {position} has an invalid chain counter {counter!r}")
            continue
        if not isinstance(licence, str) or not licence:
            problems.append(f"document {position} (counter {counter}) has no chain licence")
        else:
            licences.add(licence)
            issuer = payload.get("issuer")
            if isinstance(issuer, Mapping) and issuer.get("licence") not in (None, licence):
                problems.append(
                    f"document {position} (counter {counter}) is chained to licence {licence} "
                    f"but issued by {issuer.get('licence')}"
                )
        try:
            digest = sha256_hex(canonical_json(payload))
        except PayloadError as exc:
            problems.append(f"document {position} (counter {counter}) cannot be canonicalised: {exc}")
            continue
        hashes.setdefault(counter, []).append(digest)
        counters.append(counter)
        entries.append((position, counter, previous_hash))
    if len(licences) > 1:
        problems.append(f"the documents belong to more than one licence: {', '.join(sorted(licences))}")
    if not counters:
        if expected_last:
            problems.append(f"the chain is empty but its last counter should be {expected_last}")
        return problems

    for before, after in itertools.pairwise(counters):
        if after < before:
            problems.append(f"the documents are not in counter order: counter {after} comes after {before}")
    if min(counters) != 1:
        problems.append(f"the chain starts at counter {min(counters)}, not 1")
    for counter in sorted(c for c, found in hashes.items() if len(found) > 1):
        problems.append(f"counter {counter} appears {len(hashes[counter])} times")
    present = set(hashes)
    last = max(present)
    for start, end in _missing_runs(sorted(present)):
        if start == end:
            problems.append(f"counter {start} is missing (a gap after counter {start - 1})")
        else:
            problems.append(f"counters {start} to {end} are missing (a gap after counter {start - 1})")
    if expected_last is not None and last != expected_last:
        problems.append(
            f"the chain ends at counter {last}, but the licence's last counter is {expected_last}"
        )

    for position, counter, previous_hash in entries:
        if counter == 1:
            if previous_hash != GENESIS_HASH:
                problems.append(f"document {position} (counter 1) must have previous_hash {GENESIS_HASH}")
            continue
        candidates = hashes.get(counter - 1)
        if candidates is None:
            continue  # the gap is reported above; this link cannot be checked
        if previous_hash not in candidates:
            problems.append(
                f"document {position} (counter {counter}): previous_hash is not the SHA-256 of "
                f"document {counter - 1} (an inserted, altered or reordered document)"
            )
    return problems


def _missing_runs(present: list[int]) -> list[tuple[int, int]]:
    """Runs (first, last) of counters missing between the sorted present ones."""
    return [(before + 1, after - 1) for before, after in itertools.pairwise(present) if after > before + 1]
