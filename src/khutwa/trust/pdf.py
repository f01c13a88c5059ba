"""Official documents as PDF: PDF/A-3b with associated files, signed with PAdES.

Pure Python, no Django import: a verifier needs only this module, pyHanko and the platform's
root certificate(s). WeasyPrint (and so Pango) is imported only when rendering.

- `render_pdfa3` renders HTML with WeasyPrint as PDF/A-3b and embeds the machine-readable
  files (the UBL XML of an invoice, the signed canonical payload) as PDF/A-3 associated
  files: each file specification carries `/AFRelationship` and is listed in the catalogue's
  `/AF` array; the XMP metadata declares `pdfaid:part` 3, `pdfaid:conformance` B.
- `pades_sign` adds a PAdES signature (`ETSI.CAdES.detached`) in incremental updates, so every
  byte WeasyPrint wrote — attachments included — stays as it was: baseline B-B, or, with a
  time stamper, B-LTA (signature time-stamp, validation data in the DSS, document time-stamp).
- `pades_timestamp` extends a B-LTA file's archive time-stamp chain.
- `pades_verify` checks the signatures and time-stamps offline against the given trust roots,
  as of the time the time-stamps prove the signature was made.
- `pdf_attachment` reads an embedded file back.

Rendering reads nothing but local files (`file:`, e.g. the bundled Amiri fonts) and `data:`
URIs (e.g. an SVG QR code); any other URL, or a file that cannot be read, is an error, never a
silently missing font or image.
"""

from __future__ import annotations

import atexit
import threading
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from khutwa.trust.pades import pades_sign, pades_timestamp, pades_verify, pdf_attachment

__all__ = [
    "Attachment",
    "PadesSigningError",
    "PdfRenderError",
    "PdfSignatureResult",
    "pades_sign",
    "pades_timestamp",
    "pades_verify",
    "pdf_attachment",
    "render_pdfa3",
]

Relationship = Literal["Data", "Source", "Alternative", "Supplement"]
RELATIONSHIPS: frozenset[str] = frozenset({"Data", "Source", "Alternative", "Supplement"})

#: How `pades_sign` checks the certificates' revocation before signing.
Revocation = Literal["hard-fail", "soft-fail"]

#: Only local files and inline data; everything else is refused.
ALLOWED_URL_SCHEMES = frozenset({"file", "data"})


class PdfRenderError(RuntimeError):
    """The HTML could not be rendered: typically a refused or unreadable URL (a font, an image)."""


class PadesSigningError(RuntimeError):
    """The PDF could not be signed or time-stamped: typically a certificate that does not
    validate before signing (expired, revoked, no CRL at hand) or a TSA that refused."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file embedded in the PDF/A-3 as an associated file of the whole document."""

    name: str
    data: bytes
    mime: str
    description: str = ""
    relationship: Relationship = "Data"

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "\\" in self.name:
            raise ValueError(f"Attachment name must be a plain file name, not {self.name!r}")
        if self.relationship not in RELATIONSHIPS:
            raise ValueError(
                f"Attachment relationship must be one of {sorted(RELATIONSHIPS)}, not {self.relationship!r}"
            )
        if "/" not in self.mime or any(c.isspace() for c in self.mime):
            raise ValueError(f"Attachment MIME type must look like type/subtype, not {self.mime!r}")


@dataclass(frozen=True, slots=True)
class PdfSignatureResult:
    """What `pades_verify` found.

    valid: the signature is cryptographically valid over the bytes it covers.
    intact: the document is unchanged since signing, and the signature covers the whole file.
    trusted: the signer's certificate chains to one of the given roots (and is usable for
    signing) as of the time the signature is proven to have been made, and so do the
    time-stamps' certificates.
    signer: the signer certificate's subject as an RFC 4514 string ("" when unknown).
    reasons: in English, why any of the three is false (empty when all hold).
    signed_at: the signing time that the signature's trusted time-stamp proves (None without).
    level: the PAdES baseline level found: "B-B", "B-T", "B-LT" or "B-LTA" ("" when unknown).
    """

    valid: bool
    intact: bool
    trusted: bool
    signer: str
    reasons: list[str] = field(default_factory=list)
    signed_at: datetime | None = None
    level: str = ""

    @property
    def ok(self) -> bool:
        return self.valid and self.intact and self.trusted


# --- rendering ------------------------------------------------------------------------------------

_local = threading.local()


@atexit.register
def _drop_font_configuration() -> None:
    """Release the cached configuration while Pango is still loaded (at interpreter exit its
    finaliser would otherwise run after the library is gone and print a traceback)."""
    config = getattr(_local, "font_config", None)
    if config is not None:
        _local.font_config = None
        del config


def _font_configuration() -> Any:
    """One WeasyPrint FontConfiguration per thread, reused across renders.

    Building one loads the system's Fontconfig configuration, and each @font-face is copied
    and registered on first use only; reusing it saves that work on every document. Pango and
    Fontconfig objects are not shared between threads.
    """
    config = getattr(_local, "font_config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _local.font_config = FontConfiguration()
    return config


def _url_fetcher() -> Any:
    from weasyprint import URLFetcher

    return URLFetcher(allowed_protocols=ALLOWED_URL_SCHEMES, fail_on_errors=True)


def _attachment_fetcher(attachment: Attachment) -> Any:
    """A fetcher that serves one attachment's bytes with its own MIME type (no I/O)."""
    from weasyprint import URLFetcher
    from weasyprint.urls import URLFetcherResponse

    class _AttachmentFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            return URLFetcherResponse(url, body=attachment.data, headers={"Content-Type": attachment.mime})

    return _AttachmentFetcher(fail_on_errors=True)


def _pdfa3_finisher(relationships: dict[str, str]) -> Any:
    """Post-process WeasyPrint's pydyf objects before the file is written.

    WeasyPrint 70 already writes `/AFRelationship` and the catalogue's `/AF` for PDF/A-3, but
    it matches relationships to files by MD5 of their content (two attachments with the same
    bytes would share one) and lists every file twice in `/AF`. Here each file specification
    gets the relationship of the attachment with its name, and `/AF` lists each once.

    The info dictionary loses `/Producer` and `/ModDate`: the PAdES signature's incremental
    update rewrites both in the XMP metadata and would leave the info dictionary disagreeing
    with it (which PDF/A forbids); without them, the XMP stays the one record.

    Speed: PDF/A needs a file identifier, which pydyf computes by serialising every object a
    second time, compressing every stream (the font subsets above all) twice. Streams are
    compressed here once, exactly as pydyf would (zlib level 9, `/FlateDecode`).
    """
    import pydyf

    to_bytes = getattr(pydyf, "_to_bytes", None)  # pydyf's own item serialiser, if still there

    def finish(document: Any, pdf: Any) -> None:
        references = []
        for obj in pdf.objects:
            if isinstance(obj, pydyf.Dictionary) and obj.get("Type") == "/Filespec":
                name = obj["UF"].string
                obj["AFRelationship"] = "/" + relationships.get(name, "Unspecified")
                references.append(obj.reference)
            elif isinstance(obj, pydyf.Stream) and obj.compress and to_bytes is not None:
                raw = b"\n".join(to_bytes(item) for item in obj.stream)
                obj.stream = [zlib.compress(raw, 9)]
                obj.extra["Filter"] = "/FlateDecode"
                obj.compress = False
        if references:
            pdf.catalog["AF"] = pydyf.Array(references)
        pdf.info.pop("Producer", None)
        pdf.info.pop("ModDate", None)

    return finish


def render_pdfa3(html: str, *, attachments: list[Attachment], title: str, lang: str = "ar") -> bytes:
    """Render HTML as PDF/A-3b with the given files embedded as associated files.

    `title` becomes the document title (info dictionary and XMP `dc:title`), `lang` the
    catalogue's `/Lang`. Fonts and images must be `file:` URLs or `data:` URIs. Only
    `attachments` are embedded (`<link rel="attachment">` in the HTML is ignored); each must
    have a unique name.
    Raises `PdfRenderError` when a resource is refused or cannot be read.
    """
    from weasyprint import HTML
    from weasyprint import Attachment as WeasyAttachment
    from weasyprint.urls import FatalURLFetchingError

    names = [a.name for a in attachments]
    if len(set(names)) != len(names):
        raise ValueError(f"Attachment names must be unique: {names}")
    now = datetime.now(UTC)
    weasy_attachments = [
        WeasyAttachment(
            url=f"data:,{index}",  # placeholder: the attachment's own fetcher serves the bytes
            url_fetcher=_attachment_fetcher(attachment),
            name=attachment.name,
            description=attachment.description,
            created=now,
            modified=now,
            relationship=attachment.relationship,
        )
        for index, attachment in enumerate(attachments)
    ]
    options: dict[str, Any] = {"pdf_variant": "pdf/a-3b", "attachments": weasy_attachments}
    try:
        document = HTML(string=html, url_fetcher=_url_fetcher()).render(
            font_config=_font_configuration(), **options
        )
        document.metadata.title = title
        document.metadata.lang = lang
        # Only the files given are embedded: a <link rel="attachment"> in the HTML is ignored.
        document.metadata.attachments = []
        finisher = _pdfa3_finisher({a.name: a.relationship for a in attachments})
        pdf: bytes = document.write_pdf(finisher=finisher, **options)
    except FatalURLFetchingError as exc:
        cause = exc.__cause__ or exc
        raise PdfRenderError(f"{exc}: {cause}") from cause
    return pdf


# --- signing (pyHanko, imported on first use) -----------------------------------------------------

#: Names served by `khutwa.trust.pades`, which imports pyHanko (and aiohttp): loaded the first
#: time one of them is looked up here, so rendering, and every process that does not sign or
#: verify (most `khutwa` commands, most test processes), does not import pyHanko.
_PADES_NAMES = frozenset({"pades_sign", "pades_timestamp", "pades_verify", "pdf_attachment"})


def __getattr__(name: str) -> Any:
    if name in _PADES_NAMES:
        from khutwa.trust import pades

        return getattr(pades, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
