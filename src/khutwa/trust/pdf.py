"""Official documents as PDF: PDF/A-3b with associated files, signed with PAdES.

Pure Python, no Django import: a verifier needs only this module, pyHanko and the platform's
root certificate(s). WeasyPrint (and so Pango) is imported only when rendering.

- `render_pdfa3` renders HTML with WeasyPrint as PDF/A-3b and embeds the machine-readable
  files (the UBL XML of an invoice, the signed canonical payload) as PDF/A-3 associated
  files: each file specification carries `/AFRelationship` and is listed in the catalogue's
  `/AF` array; the XMP metadata declares `pdfaid:part` 3, `pdfaid:conformance` B.
- `render_pdfa3_parts` makes the same file from a long document given as several HTML parts,
  laid out one at a time (a statement of thousands of entries): at most one part's layout is
  in memory at once.
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
from collections.abc import Callable, Iterable
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
    "render_pdfa3_parts",
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


def _weasy_attachments(attachments: list[Attachment]) -> list[Any]:
    from weasyprint import Attachment as WeasyAttachment

    names = [a.name for a in attachments]
    if len(set(names)) != len(names):
        raise ValueError(f"Attachment names must be unique: {names}")
    now = datetime.now(UTC)
    return [
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


def _write(
    document: Any, *, attachments: list[Attachment], options: dict[str, Any], title: str, lang: str
) -> bytes:
    document.metadata.title = title
    document.metadata.lang = lang
    # Only the files given are embedded: a <link rel="attachment"> in the HTML is ignored.
    document.metadata.attachments = []
    finisher = _pdfa3_finisher({a.name: a.relationship for a in attachments})
    pdf: bytes = document.write_pdf(finisher=finisher, **options)
    return pdf


def render_pdfa3(html: str, *, attachments: list[Attachment], title: str, lang: str = "ar") -> bytes:
    """Render HTML as PDF/A-3b with the given files embedded as associated files.

    `title` becomes the document title (info dictionary and XMP `dc:title`), `lang` the
    catalogue's `/Lang`. Fonts and images must be `file:` URLs or `data:` URIs. Only
    `attachments` are embedded (`<link rel="attachment">` in the HTML is ignored); each must
    have a unique name.
    Raises `PdfRenderError` when a resource is refused or cannot be read.
    """
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    options: dict[str, Any] = {"pdf_variant": "pdf/a-3b", "attachments": _weasy_attachments(attachments)}
    try:
        document = HTML(string=html, url_fetcher=_url_fetcher()).render(
            font_config=_font_configuration(), **options
        )
        return _write(document, attachments=attachments, options=options, title=title, lang=lang)
    except FatalURLFetchingError as exc:
        cause = exc.__cause__ or exc
        raise PdfRenderError(f"{exc}: {cause}") from cause


#: WeasyPrint's scale from CSS pixels to PDF points (72 / 96), as `Document.write_pdf` paints.
_SCALE = 0.75


class _Deferred:
    """A PDF value known only when the file is written (the colour-space dictionary's
    reference, which WeasyPrint makes then), for the resources painted before it."""

    def __init__(self) -> None:
        self.value = b"null"

    def __str__(self) -> str:  # how pydyf writes a value it does not know
        return self.value.decode("ascii")


class _Canvas:
    """What the pages of every part are painted with before the file exists: one font table
    (each font subset once over every part), one resource dictionary, one image table.
    `_PaintedPage.paint` hands them to the file's when WeasyPrint writes it."""

    def __init__(self) -> None:
        import pydyf

        self.fonts: dict[Any, Any] = {}
        self.images: dict[str, Any] = {}
        self.color_space = _Deferred()
        self.resources = pydyf.Dictionary(
            {
                "ExtGState": pydyf.Dictionary(),
                "XObject": pydyf.Dictionary(),
                "Pattern": pydyf.Dictionary(),
                "Shading": pydyf.Dictionary(),
                "ColorSpace": self.color_space,
            }
        )
        self.handed_over = False

    def paint(self, document: Any) -> list[_PaintedPage]:
        """Paint every page of a laid-out WeasyPrint document, as `write_pdf` would (the same
        stream class, page transformation and scale), and keep only the drawing operations,
        compressed (zlib's fastest level: about a tenth of their size) until the file is written."""
        from weasyprint.pdf.stream import Stream

        painted = []
        for page in document.pages:
            if page.links or any(page.forms.values()):
                raise ValueError("a document rendered in parts cannot carry links or forms")
            left, top = -_SCALE * page.bleed["left"], -_SCALE * page.bleed["top"]
            width = _SCALE * (page.width + page.bleed["left"] + page.bleed["right"])
            height = _SCALE * (page.height + page.bleed["top"] + page.bleed["bottom"])
            rectangle = (left / _SCALE, top / _SCALE, width / _SCALE, height / _SCALE)
            stream = Stream(
                self.fonts,
                rectangle,
                self.resources,
                self.images,
                None,
                document.color_profiles,
                document.output_intent,
                compress=True,
            )
            stream.transform(d=-1, f=(page.height * _SCALE))
            begun = _operations(stream.stream)
            page.paint(stream, _SCALE)
            operations = _operations(stream.stream[1:])
            painted.append(
                _PaintedPage(
                    canvas=self,
                    width=page.width,
                    height=page.height,
                    bleed=dict(page.bleed),
                    bookmarks=list(page.bookmarks),
                    anchors=dict(page.anchors),
                    begun=begun,
                    held=[zlib.compress(operations, 1)],
                )
            )
        return painted

    def hand_over(self, stream: Any) -> None:
        """Give the file's resources (and images) what the pages were painted with."""
        if self.handed_over:
            return
        self.handed_over = True
        self.color_space.value = stream._resources["ColorSpace"]
        for key in ("ExtGState", "XObject", "Pattern", "Shading"):
            stream._resources[key].update(self.resources[key])
        stream._images.update(self.images)


def _operations(items: list[Any]) -> bytes:
    """Drawing operations as pydyf writes a stream's: one a line (they are bytes, or text)."""
    return b"\n".join(item if isinstance(item, bytes) else str(item).encode("ascii") for item in items)


@dataclass(slots=True)
class _PaintedPage:
    """A page already painted, in place of WeasyPrint's `Page` (which keeps the page's layout
    boxes) when `Document.write_pdf` writes the file: what it reads of a page, and `paint`
    gives the page's stream the operations painted."""

    canvas: _Canvas
    width: float
    height: float
    bleed: dict[str, float]
    bookmarks: list[Any]
    anchors: dict[str, Any]
    begun: bytes  # the page transformation write_pdf begins a page's stream with
    held: list[bytes]  # the operations after it, zlib-compressed, in the order drawn
    links: list[Any] = field(default_factory=list)
    forms: dict[Any, list[Any]] = field(default_factory=lambda: {None: []})

    def overlay(self, other: _PaintedPage) -> None:
        """Draw `other` (a page of the same size) over this one."""
        if (other.width, other.height, other.begun) != (self.width, self.height, self.begun):
            raise ValueError("an overlay page must be the size of the page it is drawn on")
        self.held += other.held

    def paint(self, stream: Any, scale: float = 1) -> None:
        if scale != _SCALE or _operations(stream.stream) != self.begun:
            raise RuntimeError("WeasyPrint began the page otherwise than the parts were painted")
        self.canvas.hand_over(stream)
        # Compressed now, as the finisher compresses every other stream (`_pdfa3_finisher`):
        # the file's pages are then held compressed until it is written.
        raw = b"\n".join([self.begun, *(zlib.decompress(chunk) for chunk in self.held)])
        stream.stream = [zlib.compress(raw, 9)]
        stream.extra["Filter"] = "/FlateDecode"
        stream.compress = False
        self.held = []


def render_pdfa3_parts(
    parts: Iterable[str],
    *,
    overlay: Callable[[int], str],
    attachments: list[Attachment],
    title: str,
    lang: str = "ar",
) -> bytes:
    """The PDF/A-3b file of a long document given as HTML parts, with at most one part's
    layout in memory at a time.

    WeasyPrint keeps every page's layout boxes until it writes the file (tens of kilobytes per
    table row); here each part is laid out on its own, its pages painted at once into drawing
    operations and its boxes dropped before the next part is read from `parts` (which may be a
    generator). Each part begins on a new page. What depends on the whole document's page
    count (the footer's "page N / M") cannot be laid out with a part: `overlay(total)` returns
    an HTML of exactly `total` pages (the same page size) drawn over the parts' pages in order.
    The file is then written by WeasyPrint as `render_pdfa3` writes one: one subset of each
    font over all parts, the metadata, output intent and `attachments` as there.
    Raises `PdfRenderError` as `render_pdfa3` does, `ValueError` if the overlay's page count is
    not the document's or a part holds links or forms.
    """
    from weasyprint import HTML
    from weasyprint.document import Document
    from weasyprint.urls import FatalURLFetchingError

    options: dict[str, Any] = {"pdf_variant": "pdf/a-3b", "attachments": _weasy_attachments(attachments)}
    canvas = _Canvas()
    pages: list[_PaintedPage] = []
    first: Any = None
    try:
        for html in parts:
            document = HTML(string=html, url_fetcher=_url_fetcher()).render(
                font_config=_font_configuration(), **options
            )
            pages += canvas.paint(document)
            if first is None:
                first = document.copy([])  # its metadata, colour profiles and output intent
            del document  # this part's layout boxes go here, before the next part is laid out
        if first is None:
            raise ValueError("a document needs at least one part")
        document = HTML(string=overlay(len(pages)), url_fetcher=_url_fetcher()).render(
            font_config=_font_configuration(), **options
        )
        over = canvas.paint(document)
        del document
        if len(over) != len(pages):
            raise ValueError(f"the overlay has {len(over)} pages, the document {len(pages)}")
        for page, top in zip(pages, over, strict=True):
            page.overlay(top)
        del over
        whole = Document(
            pages,
            first.metadata,
            first.url_fetcher,
            first.font_config,
            first.color_profiles,
            first.output_intent,
        )
        whole.fonts = canvas.fonts
        return _write(whole, attachments=attachments, options=options, title=title, lang=lang)
    except FatalURLFetchingError as exc:
        cause = exc.__cause__ or exc
        raise PdfRenderError(f"{exc}: {cause}") from cause


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
