"""The seal of a document: its key facts in one short, versioned text, signed with Ed25519.

    KW1|INV|INV-2026-000045|KH-2026-000166|2026-11-27|12.345|0.000|<hash>|<kid>
    KW2|INV|INV-2026-000045|KH-2026-000166|2026-11-27|12.345|0.000|<hash>|<kid>|<public id>|<site>

version · type code · number · licence · issue date · total · VAT · SHA-256 of the canonical
payload (base64url, no padding, 43 characters) · key id, and for KW2 (payloads with ``"v": 2``
or later) the document's public id and the site that issued it (``https://host[:port][/prefix]``,
no trailing slash): the two parts of the QR's URL that KW1 leaves unsigned. Every field has a
closed alphabet without ``|`` (and, but for the site, which the QR carries in its URL and not in
``s``, without ``~``, which stands for ``|`` in the QR URL), so splitting on ``|`` is
unambiguous and every field has exactly one spelling. The signature is Ed25519 over the UTF-8
bytes of that text, written as base64url without padding (86 characters).

Pure Python; no Django import. See docs/document-format.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import uuid
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
    "FACT_PAYLOAD_PATHS_KW2",
    "QR_SEAL_FIELDS",
    "REASON_BAD_SIGNATURE",
    "SEAL_VERSION",
    "SEAL_VERSIONS",
    "TYPE_CODES",
    "Facts",
    "SealError",
    "VerifyResult",
    "facts_from_payload",
    "find_key",
    "key_id",
    "parse_seal",
    "seal_head",
    "seal_payload",
    "seal_payload_canonical",
    "seal_string",
    "seal_version",
    "sign_seal",
    "verify_seal",
]

#: The seal version of payload v1 documents (all documents issued before payload v2).
SEAL_VERSION = "KW1"
#: The seal versions, oldest first: KW1 (payload v1), KW2 (payload v2 and later: also the
#: public id and the site).
SEAL_VERSIONS = ("KW1", "KW2")
#: The first payload version (its ``v``) sealed with KW2.
KW2_PAYLOAD_VERSION = 2
#: How many leading fields of the seal the QR's ``s`` parameter carries: all of KW1's; for KW2
#: the public id and the site are read from the QR's URL instead of being written twice.
QR_SEAL_FIELDS = 9

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
#: ... and for KW2 (payload ``"v": 2`` and later), two more.
FACT_PAYLOAD_PATHS_KW2: dict[str, str] = {**FACT_PAYLOAD_PATHS, "public_id": "public_id", "site": "site"}

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,31}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT = re.compile(r"-?(?:0|[1-9][0-9]{0,12})\.[0-9]{3}")
_HASH = re.compile(r"[0-9a-f]{64}")
_KID = re.compile(r"[A-Za-z0-9_-]{1,43}")
#: The site of a KW2 seal: lower-case scheme and host (one spelling per host), an optional
#: port without leading zeros, an optional path prefix of non-empty segments that do not start
#: with a dot; no trailing slash, no query, no user, no ``|`` nor ``~``.
_SITE = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[1-9][0-9]{0,4})?(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*"
)
_SITE_MAX_LENGTH = 100


def valid_site(value: str) -> bool:
    """Whether `value` can be sealed as a KW2 site (settings check KHUTWA_SITE_URL with it)."""
    return isinstance(value, str) and len(value) <= _SITE_MAX_LENGTH and bool(_SITE.fullmatch(value))


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
    elif name == "kid":
        if not _KID.fullmatch(value):
            raise SealError(f"kid {value!r} must be 1-43 base64url characters")
    elif name == "public_id":
        try:
            ok = str(uuid.UUID(value)) == value
        except ValueError:
            ok = False
        if not ok:
            raise SealError(f"public id {value!r} is not a lower-case hyphenated UUID")
    elif name == "site" and (len(value) > _SITE_MAX_LENGTH or not _SITE.fullmatch(value)):
        raise SealError(
            f"site {value!r} must be http(s)://host[:port][/prefix] in lower case, "
            f"without a trailing slash, at most {_SITE_MAX_LENGTH} characters"
        )


@dataclass(frozen=True)
class Facts:
    """The key facts of a document, as sealed. Validated on construction (``SealError``).

    KW1 facts leave ``public_id`` and ``site`` out (None); KW2 facts have both."""

    type: str
    number: str
    licence: str
    date: str
    total: str
    vat: str
    hash: str
    kid: str
    public_id: str | None = None
    site: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in ("public_id", "site"):
                continue
            _check_field(f.name, value)
        if (self.public_id is None) != (self.site is None):
            raise SealError("KW2 facts need both the public id and the site (KW1 facts neither)")

    @property
    def version(self) -> str:
        """``KW1``, or ``KW2`` when the public id and the site are sealed too."""
        return "KW1" if self.site is None else "KW2"


@dataclass
class VerifyResult:
    """The outcome of a verification. ``facts`` are the facts that were checked (what the
    seal or payload claims): trust them only when ``valid`` is true."""

    valid: bool
    reasons: list[str] = field(default_factory=list)
    facts: Facts | None = None
    key_status: Literal["active", "retired"] | None = None

    @property
    def signed_site(self) -> str | None:
        """The site that the signature covers (KW2), None for KW1 facts or no facts."""
        return self.facts.site if self.facts is not None else None


def seal_head(facts: Facts) -> str:
    """The first ``QR_SEAL_FIELDS`` (9) fields of the seal text: all of a KW1 seal; a KW2 seal
    without its public id and site (what the QR's ``s`` parameter carries)."""
    return "|".join(
        (
            facts.version,
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


def seal_string(facts: Facts) -> str:
    """The seal text that is signed (see the module docstring)."""
    head = seal_head(facts)
    return head if facts.site is None else f"{head}|{facts.public_id}|{facts.site}"


def parse_seal(text: str) -> Facts:
    """Inverse of ``seal_string``; raises ``SealError`` on anything that it would not write."""
    if not isinstance(text, str):
        raise SealError("the seal must be a string")
    parts = text.split("|")
    if parts[0] not in SEAL_VERSIONS:
        raise SealError(f"unsupported seal version {parts[0][:8]!r} (expected {' or '.join(SEAL_VERSIONS)})")
    expected = QR_SEAL_FIELDS if parts[0] == "KW1" else QR_SEAL_FIELDS + 2
    if len(parts) != expected:
        raise SealError(f"the {parts[0]} seal has {len(parts)} fields, expected {expected}")
    _, code, number, licence, date, total, vat, hash_text, kid = parts[:QR_SEAL_FIELDS]
    public_id, site = parts[QR_SEAL_FIELDS:] if parts[0] == "KW2" else (None, None)
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
        public_id=public_id,
        site=site,
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


def seal_version(payload: Mapping[str, Any]) -> str:
    """The seal version of a payload: ``KW2`` when its ``v`` is 2 or more, ``KW1`` otherwise
    (``v`` 1, or no ``v``). Raises ``SealError`` when ``v`` is not an integer."""
    version = payload.get("v", 1) if isinstance(payload, Mapping) else None
    if isinstance(version, bool) or not isinstance(version, int):
        raise SealError(f"the payload's v {version!r} is not an integer")
    return "KW2" if version >= KW2_PAYLOAD_VERSION else "KW1"


def facts_from_payload(payload: Mapping[str, Any], kid: str) -> Facts:
    """The facts sealed for a payload: its ``type``, ``number``, ``issuer.licence``,
    ``issue_date``, ``total``, ``vat``, the SHA-256 of its canonical JSON, and ``kid``; and
    for a payload ``"v": 2`` or later (KW2) its ``public_id`` and ``site`` too.
    Raises ``PayloadError`` (not canonicalisable) or ``SealError`` (a field is missing/invalid)."""
    return _facts_and_json(payload, kid)[0]


def _facts_and_json(payload: Mapping[str, Any], kid: str) -> tuple[Facts, bytes]:
    paths = FACT_PAYLOAD_PATHS_KW2 if seal_version(payload) == "KW2" else FACT_PAYLOAD_PATHS
    data = canonical_json(payload)
    values = {name: _get(payload, path) for name, path in paths.items()}
    return Facts(**values, hash=sha256_hex(data), kid=kid), data


def seal_payload(payload: Mapping[str, Any], kid: str, private_key: Ed25519PrivateKey) -> tuple[Facts, str]:
    """What the documents app calls on issue: the facts of ``payload`` (KW1 or KW2, by its
    ``v``) and their signature."""
    facts, signature, _data = seal_payload_canonical(payload, kid, private_key)
    return facts, signature


def seal_payload_canonical(
    payload: Mapping[str, Any], kid: str, private_key: Ed25519PrivateKey
) -> tuple[Facts, str, bytes]:
    """``seal_payload``, and the canonical JSON whose hash was sealed (issuing stores it as the
    payload's text, so that the payload is encoded once)."""
    facts, data = _facts_and_json(payload, kid)
    return facts, sign_seal(facts, private_key), data


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
