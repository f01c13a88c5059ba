"""The seal of a document: its key facts in one short, versioned text, signed with Ed25519.

    KW1|INV|INV-2026-000045|KH-2026-000166|2026-11-27|12.345|0.000|<hash>|<kid>

version · type code · number · licence · issue date · total · VAT · SHA-256 of the canonical
payload (base64url, no padding, 43 characters) · key id. Every field has a closed alphabet
without ``|`` (and without ``~``, which stands for ``|`` in the QR URL), so splitting on
``|`` is unambiguous and every field has exactly one spelling. The signature is Ed25519 over
the UTF-8 bytes of that text, written as base64url without padding (86 characters).

Pure Python; no Django import. See docs/document-format.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from khutwa.trust.canonical import b64url_decode, b64url_encode, canonical_json, sha256_hex

__all__ = [
    "DOCUMENT_TYPES",
    "FACT_PAYLOAD_PATHS",
    "REASON_BAD_SIGNATURE",
    "SEAL_VERSION",
    "TYPE_CODES",
    "Facts",
    "SealError",
    "VerifyResult",
    "facts_from_payload",
    "find_key",
    "key_id",
    "parse_seal",
    "seal_payload",
    "seal_string",
    "sign_seal",
    "verify_seal",
]

SEAL_VERSION = "KW1"

#: Document type → the 3-letter code in the seal.
TYPE_CODES: dict[str, str] = {
    "quotation": "QUO",
    "invoice": "INV",
    "credit_note": "CRN",
    "delivery_note": "DLV",
    "receipt": "RCT",
    "statement": "STM",
}
DOCUMENT_TYPES = tuple(TYPE_CODES)
_TYPES_BY_CODE = {code: name for name, code in TYPE_CODES.items()}

#: Documents are dated in Bahrain (UTC+3 all year, no daylight saving time).
BAHRAIN = dt.timezone(dt.timedelta(hours=3), "Asia/Bahrain")

REASON_BAD_SIGNATURE = "signature does not match the seal"

#: Where each sealed fact is read in a payload (dotted paths).
FACT_PAYLOAD_PATHS: dict[str, str] = {
    "type": "type",
    "number": "number",
    "licence": "issuer.licence",
    "date": "issue_date",
    "total": "total",
    "vat": "vat",
}

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,31}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT = re.compile(r"-?(?:0|[1-9][0-9]{0,12})\.[0-9]{3}")
_HASH = re.compile(r"[0-9a-f]{64}")
_KID = re.compile(r"[A-Za-z0-9_-]{1,43}")
_SIGNATURE_BYTES = 64


class SealError(ValueError):
    """Facts that cannot be sealed, or a seal text that cannot be read."""


def _check_field(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise SealError(f"{name} must be a string, not {type(value).__name__}")
    if "|" in value:
        raise SealError(f"{name} {value!r} contains '|', the seal's separator")
    if name == "type":
        if value not in TYPE_CODES:
            raise SealError(f"type {value!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    elif name in ("number", "licence"):
        if not _IDENTIFIER.fullmatch(value):
            raise SealError(
                f"{name} {value!r} must be 1-32 characters of A-Z a-z 0-9 . _ / - "
                "starting with a letter or digit"
            )
    elif name == "date":
        try:
            ok = bool(_DATE.fullmatch(value)) and dt.date.fromisoformat(value).isoformat() == value
        except ValueError:
            ok = False
        if not ok:
            raise SealError(f"date {value!r} is not an ISO date YYYY-MM-DD")
    elif name in ("total", "vat"):
        if not _AMOUNT.fullmatch(value) or value == "-0.000":
            raise SealError(
                f"{name} {value!r} must be an amount with exactly 3 decimals "
                "and no leading zeros, e.g. '12.345'"
            )
    elif name == "hash":
        if not _HASH.fullmatch(value):
            raise SealError(f"hash {value!r} must be 64 lower-case hexadecimal characters (SHA-256)")
    elif name == "kid" and not _KID.fullmatch(value):
        raise SealError(f"kid {value!r} must be 1-43 base64url characters")


@dataclass(frozen=True)
class Facts:
    """The key facts of a document, as sealed. Validated on construction (``SealError``)."""

    type: str
    number: str
    licence: str
    date: str
    total: str
    vat: str
    hash: str
    kid: str

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_field(f.name, getattr(self, f.name))


@dataclass
class VerifyResult:
    """The outcome of a verification. ``facts`` are the facts that were checked (what the
    seal or payload claims): trust them only when ``valid`` is true."""

    valid: bool
    reasons: list[str] = field(default_factory=list)
    facts: Facts | None = None
    key_status: Literal["active", "retired"] | None = None


def seal_string(facts: Facts) -> str:
    """The seal text that is signed (see the module docstring)."""
    return "|".join(
        (
            SEAL_VERSION,
            TYPE_CODES[facts.type],
            facts.number,
            facts.licence,
            facts.date,
            facts.total,
            facts.vat,
            b64url_encode(bytes.fromhex(facts.hash)),
            facts.kid,
        )
    )


def parse_seal(text: str) -> Facts:
    """Inverse of ``seal_string``; raises ``SealError`` on anything that it would not write."""
    if not isinstance(text, str):
        raise SealError("the seal must be a string")
    parts = text.split("|")
    if not parts or parts[0] != SEAL_VERSION:
        raise SealError(f"unsupported seal version {parts[0][:8]!r} (expected {SEAL_VERSION})")
    if len(parts) != 9:
        raise SealError(f"the seal has {len(parts)} fields, expected 9")
    _, code, number, licence, date, total, vat, hash_text, kid = parts
    if code not in _TYPES_BY_CODE:
        raise SealError(f"unknown document type code {code!r}")
    try:
        digest = b64url_decode(hash_text, 32)
    except ValueError as exc:
        raise SealError(f"hash: {exc}") from None
    return Facts(
        type=_TYPES_BY_CODE[code],
        number=number,
        licence=licence,
        date=date,
        total=total,
        vat=vat,
        hash=digest.hex(),
        kid=kid,
    )


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key id: the first 16 characters of base64url(SHA-256(raw 32-byte public key))."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return b64url_encode(hashlib.sha256(raw).digest())[:16]


def sign_seal(facts: Facts, private_key: Ed25519PrivateKey) -> str:
    """The Ed25519 signature over ``seal_string(facts)`` (UTF-8), base64url without padding.
    Refuses (``SealError``) when ``facts.kid`` is not the id of ``private_key``."""
    kid = key_id(private_key.public_key())
    if facts.kid != kid:
        raise SealError(f"facts.kid {facts.kid!r} is not the id of the signing key ({kid!r})")
    return b64url_encode(private_key.sign(seal_string(facts).encode("utf-8")))


def _get(payload: Mapping[str, Any], path: str) -> Any:
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise SealError(f"the payload has no {path}")
        value = value[part]
    return value


def facts_from_payload(payload: Mapping[str, Any], kid: str) -> Facts:
    """The facts sealed for a payload: its ``type``, ``number``, ``issuer.licence``,
    ``issue_date``, ``total``, ``vat``, the SHA-256 of its canonical JSON, and ``kid``.
    Raises ``PayloadError`` (not canonicalisable) or ``SealError`` (a field is missing/invalid)."""
    digest = sha256_hex(canonical_json(payload))
    values = {name: _get(payload, path) for name, path in FACT_PAYLOAD_PATHS.items()}
    return Facts(**values, hash=digest, kid=kid)


def seal_payload(payload: Mapping[str, Any], kid: str, private_key: Ed25519PrivateKey) -> tuple[Facts, str]:
    """What the documents app calls on issue: the facts of ``payload`` and their signature."""
    facts = facts_from_payload(payload, kid)
    return facts, sign_seal(facts, private_key)


# --- verification against a JWKS --------------------------------------------------------------


@dataclass(frozen=True)
class _Jwk:
    public_key: Ed25519PublicKey
    status: str
    retired: dt.datetime | None


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@functools.lru_cache(maxsize=64)
def _public_key(x: str) -> tuple[Ed25519PublicKey, str] | None:
    """The public key of a JWK's ``x`` and its true key id (cached: JWKS hold few keys)."""
    try:
        public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(x, 32))
    except (ValueError, TypeError):
        return None
    return public_key, key_id(public_key)


def find_key(jwks: Mapping[str, Any], kid: str) -> _Jwk | str:
    """The Ed25519 key ``kid`` of ``jwks``, or the reason why it cannot be used."""
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        return "the JWKS has no 'keys' list"
    for jwk in keys:
        if not isinstance(jwk, Mapping) or jwk.get("kid") != kid:
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            return f"key id {kid!r} is not an Ed25519 key"
        x = jwk.get("x")
        parsed = _public_key(x) if isinstance(x, str) else None
        if parsed is None:
            return f"key id {kid!r} has a malformed public key"
        public_key, true_kid = parsed
        if true_kid != kid:
            return f"key id {kid!r} is not the id of its public key"
        retired = _parse_time(jwk.get("retired"))
        if jwk.get("retired") is not None and retired is None:
            return f"key id {kid!r} has a malformed retirement time"
        return _Jwk(public_key, str(jwk.get("status", "active")), retired)
    return f"unknown key id {kid!r}"


def verify_seal(facts: Facts, signature: str, jwks: Mapping[str, Any]) -> VerifyResult:
    """Check ``signature`` over ``seal_string(facts)`` with the key ``facts.kid`` of ``jwks``.

    A retired key still verifies (documents signed before a rotation stay valid), but not a
    document dated after the day (in Bahrain) on which its key was retired."""
    try:
        raw = b64url_decode(signature, _SIGNATURE_BYTES)
    except (ValueError, TypeError) as exc:
        return VerifyResult(False, [f"malformed signature: {exc}"], facts, None)
    found = find_key(jwks, facts.kid)
    if isinstance(found, str):
        return VerifyResult(False, [found], facts, None)
    reasons: list[str] = []
    status: Literal["active", "retired"] | None = None
    if found.status in ("active", "retired"):
        status = "active" if found.status == "active" else "retired"
    else:
        reasons.append(f"key id {facts.kid!r} is {found.status!r}, not active or retired")
    if found.retired is not None:
        retired_on = found.retired.astimezone(BAHRAIN).date()
        if dt.date.fromisoformat(facts.date) > retired_on:
            reasons.append(
                f"key id {facts.kid!r} was retired on {retired_on.isoformat()}, "
                f"before the document's date {facts.date}"
            )
    try:
        found.public_key.verify(raw, seal_string(facts).encode("utf-8"))
    except InvalidSignature:
        reasons.insert(0, REASON_BAD_SIGNATURE)
    return VerifyResult(not reasons, reasons, facts, status)
