"""The QR code printed on every document: a URL that opens the public verification page on a
phone, and whose content alone, with the platform's JWKS, verifies the key facts offline.

    https://khutwa.example.bh/verify/<public_id>?s=<seal>&g=<signature>

``public_id`` is the document's UUID (lower-case, hyphenated). ``s`` is the seal text of
``khutwa.trust.seal`` with each ``|`` written as ``~`` (an unreserved URL character that no
seal field may contain), so the URL needs no percent-encoding at all; ``g`` is the Ed25519
signature (base64url, 86 characters). A realistic document is about 300 characters: QR
version 13 at error correction M, in byte mode.

Pure Python; no Django import.
"""

from __future__ import annotations

import io
import re
import uuid

import segno

from khutwa.trust.canonical import b64url_decode
from khutwa.trust.seal import Facts, SealError, parse_seal, seal_string

__all__ = [
    "QrError",
    "facts_from_seal_param",
    "parse_qr",
    "qr_content",
    "qr_png",
    "qr_svg",
    "qr_version",
    "seal_param",
]

ERROR_CORRECTION = "M"
#: Far above any content ``qr_content`` writes (about 300 characters); bounds the parsing work.
MAX_CONTENT_LENGTH = 1024
_BASE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
_CONTENT = re.compile(
    r"(?P<base>https?://[^/?#\s]+(?:/[^?#\s]*?)?)/verify/(?P<public_id>[^/?#\s]*)"
    r"\?s=(?P<seal>[^&#\s]*)&g=(?P<signature>[^&#\s]*)"
)
_SEAL_PARAM = re.compile(r"[A-Za-z0-9._/~-]+")


class QrError(ValueError):
    """QR content (or its parts) that is not what ``qr_content`` writes."""


def _check_public_id(public_id: str) -> None:
    try:
        ok = str(uuid.UUID(public_id)) == public_id
    except (ValueError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise QrError(f"public id {public_id!r} is not a lower-case hyphenated UUID")


def _check_signature(signature: str) -> None:
    try:
        b64url_decode(signature, 64)
    except (ValueError, TypeError) as exc:
        raise QrError(f"signature: {exc}") from None


def seal_param(facts: Facts) -> str:
    """The ``s`` parameter: the seal text with ``~`` for ``|``."""
    return seal_string(facts).replace("|", "~")


def facts_from_seal_param(value: str) -> Facts:
    """Inverse of ``seal_param`` (for a verification page that reads ``s`` from its query)."""
    if not isinstance(value, str) or not _SEAL_PARAM.fullmatch(value):
        raise QrError("the seal parameter holds characters outside A-Z a-z 0-9 . _ / ~ -")
    try:
        return parse_seal(value.replace("~", "|"))
    except SealError as exc:
        raise QrError(f"seal: {exc}") from None


def qr_content(base_url: str, public_id: str, facts: Facts, signature: str) -> str:
    """The QR content of a document. ``base_url`` is the site (``https://host[/prefix]``,
    a trailing slash is dropped); raises ``QrError`` on a malformed part."""
    base = base_url.rstrip("/")
    if not _BASE_URL.fullmatch(base):
        raise QrError(f"base URL {base_url!r} must be http(s)://host[:port][/path] without query")
    _check_public_id(public_id)
    _check_signature(signature)
    return f"{base}/verify/{public_id}?s={seal_param(facts)}&g={signature}"


def parse_qr(content: str) -> tuple[str, Facts, str]:
    """(public_id, facts, signature) from QR content; ``QrError`` on anything that
    ``qr_content`` would not have written."""
    if not isinstance(content, str):
        raise QrError("QR content must be text")
    if len(content) > MAX_CONTENT_LENGTH:
        raise QrError(f"QR content longer than {MAX_CONTENT_LENGTH} characters")
    match = _CONTENT.fullmatch(content)
    if match is None:
        raise QrError("expected <site>/verify/<public id>?s=<seal>&g=<signature>")
    if not _BASE_URL.fullmatch(match["base"]):
        raise QrError(f"the site {match['base']!r} is not a plain http(s) URL")
    public_id = match["public_id"]
    _check_public_id(public_id)
    facts = facts_from_seal_param(match["seal"])
    _check_signature(match["signature"])
    return public_id, facts, match["signature"]


def _make(content: str) -> segno.QRCode:
    return segno.make(content, error=ERROR_CORRECTION, micro=False, boost_error=False)


def qr_version(content: str) -> int:
    """The QR version (1-40) of ``content`` at error correction M."""
    version = _make(content).version
    assert isinstance(version, int)  # noqa: S101 - never a Micro QR here
    return version


def qr_svg(content: str, *, scale: int = 4) -> str:
    """A standalone SVG (with its namespace, 4-module quiet zone, black on white)."""
    buffer = io.BytesIO()
    _make(content).save(
        buffer, kind="svg", scale=scale, border=4, dark="#000", light="#fff", xmldecl=False, svgns=True
    )
    return buffer.getvalue().decode("utf-8")


def qr_png(content: str, scale: int) -> bytes:
    """A PNG with ``scale`` pixels a module and a 4-module quiet zone."""
    buffer = io.BytesIO()
    _make(content).save(buffer, kind="png", scale=scale, border=4, dark="#000", light="#fff")
    return buffer.getvalue()
