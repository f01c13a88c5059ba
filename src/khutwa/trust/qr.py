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

import functools
import io
import itertools
import re
import uuid
from collections.abc import Callable, Sequence

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
    """The QR code segno would make, with the same data mask, in half the time.

    segno picks the mask (ISO/IEC 18004 7.8.3: the lowest penalty of the eight) by applying
    and scoring each one module by module: two thirds of the time of a document's QR code.
    Here the code is encoded once with mask 0, the eight masks are scored on rows held as
    integers and strings (`_best_mask`: segno's `mask_scores` rules, ties to the lower
    number), and the winner replaces mask 0 in the encoding region and the format
    information. `tests/trust/test_qr_mask.py` checks the result is segno's own, module for
    module (segno's private encoder functions are used: an upgrade that changes them fails
    there, not in a printed document).
    """
    from segno import encoder

    code = encoder.encode(content, error=ERROR_CORRECTION, micro=False, boost_error=False, mask=0)
    best = _best_mask(code.matrix)
    if best:
        size = len(code.matrix)
        _fixed, _region, masks = _layout(size)
        for row, flip in zip(
            code.matrix, (a ^ b for a, b in zip(masks[0], masks[best], strict=True)), strict=True
        ):
            for j, bit in enumerate(format(flip, f"0{size}b")):
                if bit == "1":
                    row[j] ^= 1
        encoder.add_format_info(code.matrix, code.version, code.error, best)
        code = code._replace(mask=best)
    return segno.QRCode(code)  # type: ignore[call-arg]  # what segno.make returns, from a Code


_MASK_FUNCTIONS: tuple[Callable[[int, int], bool], ...] = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)


@functools.lru_cache(maxsize=8)
def _layout(width: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """For a QR code ``width`` modules wide, as integers per row (``_row_int``):
    the modules outside the encoding region as segno scores them (function patterns, the
    format and version areas still light), which modules are in the encoding region, and
    each mask's dark modules within it."""
    from segno import encoder

    base = encoder.make_matrix(width, width)
    encoder.add_finder_patterns(base, width, width)
    encoder.add_alignment_patterns(base, width, width)
    # The dark module is outside the encoding region, but segno scores the masks before it
    # (and the format and version information) is drawn: light, as make_matrix left it.
    base[-8][8] = 0x0
    fixed = tuple(_row_int(bytes(1 if module == 0x1 else 0 for module in row)) for row in base)
    inside = [
        bytes(1 if module > 0x1 and (i, j) != (width - 8, 8) else 0 for j, module in enumerate(row))
        for i, row in enumerate(base)
    ]
    region = tuple(_row_int(row) for row in inside)
    masks = tuple(
        tuple(
            _row_int(bytes(1 if row[j] and fn(i, j) else 0 for j in range(width)))
            for i, row in enumerate(inside)
        )
        for fn in _MASK_FUNCTIONS
    )
    return fixed, region, masks


_ASCII_BITS = bytes.maketrans(b"\x00\x01", b"01")


def _row_int(row: bytes | bytearray) -> int:
    """A row of modules (bytes 0 and 1) as an integer, column 0 the most significant bit, so
    that ``format(n, "0<width>b")`` reads the row left to right."""
    return int(bytes(row).translate(_ASCII_BITS), 2)


_RUNS = re.compile(r"0{5,}|1{5,}")
_N3 = "1011101"


def _n3(line: str, size: int) -> int:
    """segno's N3 rule for one row or column (``line``: ``size`` characters "0"/"1")."""
    count = 0
    idx = line.find(_N3)
    while idx != -1:
        offset = idx + 7
        if (
            idx in (0, size - 7)
            or "1" not in line[max(idx - 4, 0) : min(idx, size)]
            or "1" not in line[offset : min(offset + 4, size)]
        ):
            count += 40
        else:
            offset = idx + 4
        idx = line.find(_N3, offset)
    return count


def _penalty(rows: list[int], size: int) -> int:
    """The penalty score N1 + N2 + N3 + N4 of ISO/IEC 18004 7.8.3.1, as segno counts it."""
    full = (1 << size) - 1
    inner = full >> 1
    lines = [format(row, f"0{size}b") for row in rows]
    columns = ["".join(column) for column in zip(*lines, strict=True)]
    n1 = sum(len(run) - 2 for line in (*lines, *columns) for run in _RUNS.findall(line))
    n2 = 0
    for above, below in itertools.pairwise(rows):
        same = ~(above ^ below) & full
        n2 += (same & (same >> 1) & ~(above ^ (above >> 1)) & inner).bit_count()
    n3 = sum(_n3(line, size) for line in (*lines, *columns))
    dark = sum(row.bit_count() for row in rows)
    n4 = 10 * int(abs(float(dark) / (size**2) * 100 - 50) / 5)
    return n1 + 3 * n2 + n3 + n4


def _best_mask(matrix: Sequence[bytes | bytearray]) -> int:
    """The data mask segno would choose for the code whose final matrix with mask 0 is
    ``matrix``: the lowest penalty, the lower number on a tie."""
    size = len(matrix)
    fixed, region, masks = _layout(size)
    unmasked = []
    for i, row in enumerate(matrix):
        unmasked.append((_row_int(row) & region[i]) ^ masks[0][i] | fixed[i])
    best, best_score = 0, None
    for number, mask in enumerate(masks):
        score = _penalty([row ^ bits for row, bits in zip(unmasked, mask, strict=True)], size)
        if best_score is None or score < best_score:
            best, best_score = number, score
    return best


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
