"""The QR code printed on every document: a URL that opens the public verification page on a
phone, and whose content alone, with the platform's JWKS, verifies the key facts offline.

    https://khutwa.example.bh/verify/<public_id>?s=<seal>&g=<signature>

``public_id`` is the document's UUID (lower-case, hyphenated). ``s`` is the seal text of
``khutwa.trust.seal`` with each ``|`` written as ``~`` (an unreserved URL character that no
seal field may contain), so the URL needs no percent-encoding at all; ``g`` is the Ed25519
signature (base64url, 86 characters). A realistic document is about 300 characters: QR
version 13 at error correction M, in byte mode.

KW1 signs the seal only: the site and the public id of the URL are not covered. KW2 signs
them too, without writing them twice: ``s`` carries the seal's first nine fields and the
verifier appends ``|<public id>|<site>`` read from the URL. Every character of a KW2 QR but
the signature is then signed, and the signature is canonical base64url, so changing any one
character of it is refused offline.

Pure Python; no Django import.
"""

from __future__ import annotations

import io
import re
import uuid

import segno

from khutwa.trust.canonical import b64url_decode
from khutwa.trust.seal import QR_SEAL_FIELDS, Facts, SealError, parse_seal, seal_head

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
    """The ``s`` parameter: the seal's first nine fields (``seal_head``) with ``~`` for ``|``."""
    return seal_head(facts).replace("|", "~")


def facts_from_seal_param(value: str, *, public_id: str | None = None, site: str | None = None) -> Facts:
    """Inverse of ``seal_param`` (for a verification page that reads ``s`` from its query).
    A KW2 seal also needs the ``public_id`` and the ``site`` of the URL that carried it (they
    are signed); a KW1 seal ignores them (they are not)."""
    if not isinstance(value, str) or not _SEAL_PARAM.fullmatch(value):
        raise QrError("the seal parameter holds characters outside A-Z a-z 0-9 . _ / ~ -")
    text = value.replace("~", "|")
    if text.startswith("KW2|"):
        if public_id is None or site is None:
            raise QrError("a KW2 seal needs the public id and the site of its URL")
        if (count := text.count("|") + 1) != QR_SEAL_FIELDS:
            raise QrError(f"seal: the seal parameter has {count} fields, expected {QR_SEAL_FIELDS}")
        text = f"{text}|{public_id}|{site}"
    try:
        return parse_seal(text)
    except SealError as exc:
        raise QrError(f"seal: {exc}") from None


def qr_content(base_url: str, public_id: str, facts: Facts, signature: str) -> str:
    """The QR content of a document. ``base_url`` is the site (``https://host[/prefix]``,
    a trailing slash is dropped); raises ``QrError`` on a malformed part, and on KW2 facts
    sealed for another site or another public id."""
    base = base_url.rstrip("/")
    if not _BASE_URL.fullmatch(base):
        raise QrError(f"base URL {base_url!r} must be http(s)://host[:port][/path] without query")
    _check_public_id(public_id)
    _check_signature(signature)
    if facts.site is not None and facts.site != base:
        raise QrError(f"the facts are sealed for the site {facts.site!r}, not {base!r}")
    if facts.public_id is not None and facts.public_id != public_id:
        raise QrError(f"the facts are sealed for the public id {facts.public_id}, not {public_id}")
    return f"{base}/verify/{public_id}?s={seal_param(facts)}&g={signature}"


def parse_qr(content: str) -> tuple[str, Facts, str]:
    """(public_id, facts, signature) from QR content; ``QrError`` on anything that
    ``qr_content`` would not have written. KW2 facts hold the URL's public id and site."""
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
    facts = facts_from_seal_param(match["seal"], public_id=public_id, site=match["base"])
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
