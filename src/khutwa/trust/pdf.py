"""Official documents as PDF: PDF/A-3b with associated files, signed with PAdES.

Pure Python, no Django import: a verifier needs only this module, pyHanko and the platform's
root certificate(s). WeasyPrint (and so Pango) is imported only when rendering.

- `render_pdfa3` renders HTML with WeasyPrint as PDF/A-3b and embeds the machine-readable
  files (the UBL XML of an invoice, the signed canonical payload) as PDF/A-3 associated
  files: each file specification carries `/AFRelationship` and is listed in the catalogue's
  `/AF` array; the XMP metadata declares `pdfaid:part` 3, `pdfaid:conformance` B.
- `pades_sign` adds a PAdES baseline B-B signature (`ETSI.CAdES.detached`) in an incremental
  update, so every byte WeasyPrint wrote — attachments included — stays as it was.
- `pades_verify` checks the signature offline against the given trust roots.
- `pdf_attachment` reads an embedded file back.

Rendering reads nothing but local files (`file:`, e.g. the bundled Amiri fonts) and `data:`
URIs (e.g. an SVG QR code); any other URL, or a file that cannot be read, is an error, never a
silently missing font or image.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import threading
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from typing import Any, Literal

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.validation import EmbeddedPdfSignature, SignatureCoverageLevel
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

__all__ = [
    "Attachment",
    "PdfRenderError",
    "PdfSignatureResult",
    "pades_sign",
    "pades_verify",
    "pdf_attachment",
    "render_pdfa3",
]

Relationship = Literal["Data", "Source", "Alternative", "Supplement"]
RELATIONSHIPS: frozenset[str] = frozenset({"Data", "Source", "Alternative", "Supplement"})

#: Only local files and inline data; everything else is refused.
ALLOWED_URL_SCHEMES = frozenset({"file", "data"})

#: Room for the CMS signature besides the certificates: an ECDSA P-256 signer info with its
#: signed attributes takes about 0.5 KB (see `_bytes_reserved`).
_CMS_OVERHEAD = 2048

_MAX_NAME_TREE_DEPTH = 32  # deepest name tree followed when looking for an attachment


class PdfRenderError(RuntimeError):
    """The HTML could not be rendered: typically a refused or unreadable URL (a font, an image)."""


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
    trusted: the signer's certificate chains to one of the given roots (and is usable for signing).
    signer: the signer certificate's subject as an RFC 4514 string ("" when unknown).
    reasons: in English, why any of the three is false (empty when all hold).
    """

    valid: bool
    intact: bool
    trusted: bool
    signer: str
    reasons: list[str] = field(default_factory=list)

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


# --- signing --------------------------------------------------------------------------------------


def _asn1_cert(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return _asn1_cert_from_der(certificate.public_bytes(serialization.Encoding.DER))


@functools.lru_cache(maxsize=64)
def _asn1_cert_from_der(der: bytes) -> asn1_x509.Certificate:
    """Parsed once: the platform signs with the same few certificates all day."""
    return asn1_x509.Certificate.load(der)


class _KeySigner(signers.Signer):
    """A pyHanko signer around a `cryptography` ECDSA key object.

    pyHanko's SimpleSigner wants the key as PKCS#8 and reloads it from DER for every raw
    signature; this keeps the object as given (so it may also be a key that cannot be
    exported). pyHanko takes the mechanism (ECDSA with the digest) from the certificate.
    """

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
    ) -> None:
        super().__init__(
            signing_cert=_asn1_cert(certificate),
            cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in chain]),
        )
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self._key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))


def _bytes_reserved(certificates: list[x509.Certificate]) -> int:
    """Room for the CMS object, in hex digits: the signer info and every certificate, twice.

    Giving it saves pyHanko a dry-run signature to estimate the size.
    """
    der = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in certificates)
    return 2 * (_CMS_OVERHEAD + der)


def pades_sign(
    pdf: bytes,
    *,
    key: ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    reason: str,
    location: str = "Kingdom of Bahrain",
    field_name: str = "KhutwaSignature",
) -> bytes:
    """Sign the whole PDF: PAdES baseline B-B (ETSI.CAdES.detached), SHA-256 with ECDSA.

    `chain` holds the certificates between the signer and the root (the root may be included);
    all are embedded in the signature. The signature goes in an incremental update with an
    invisible, printable signature field, so the PDF/A-3 content and attachments are untouched.
    """
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("pades_sign needs an ECDSA private key from `cryptography`")
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise ValueError("The private key does not belong to the signing certificate")

    signer = _KeySigner(key, certificate, chain)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        location=location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    output = BytesIO()
    _run(
        signers.PdfSigner(meta, signer).async_sign_pdf(
            writer, output=output, bytes_reserved=_bytes_reserved([certificate, *chain])
        )
    )
    return output.getvalue()


# --- verification ---------------------------------------------------------------------------------


def _subject(cert: asn1_x509.Certificate | None) -> str:
    if cert is None:
        return ""
    return x509.load_der_x509_certificate(cert.dump()).subject.rfc4514_string()


def _run(coro: Any) -> Any:
    """Run a pyHanko coroutine from synchronous code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def _judge(
    sig: EmbeddedPdfSignature, status: PdfSignatureStatus, *, last: bool
) -> tuple[bool, bool, bool, list[str]]:
    """valid, intact, trusted and the reasons for one signature's status."""
    label = f"Signature {sig.field_name!r}"
    reasons: list[str] = []
    valid = bool(status.valid and status.intact)
    if not status.intact:
        reasons.append(f"{label}: the signed bytes were changed after signing (digest mismatch).")
    elif not status.valid:
        reasons.append(f"{label}: the cryptographic signature does not verify.")
    # Only the last signature can cover the whole file; earlier ones cover their revision.
    covers_all = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    intact = bool(status.intact) and (covers_all or not last)
    if status.intact and last and not covers_all:
        reasons.append(f"{label}: the file was changed after signing (the signature does not cover it all).")
    trusted = bool(status.trusted)
    if not trusted and not valid:
        reasons.append(f"{label}: the signer's certificate was not checked, as the signature is invalid.")
    elif not trusted:
        problem = status.trust_problem_indic
        detail = f" ({str(problem.standard_name).lower().replace('_', ' ')})" if problem is not None else ""
        reasons.append(f"{label}: the signer's certificate does not chain to a trusted root{detail}.")
    if status.revoked:
        reasons.append(f"{label}: the signer's certificate is revoked.")
    return valid, intact, trusted, reasons


async def _validate_all(
    signatures: list[EmbeddedPdfSignature], context: ValidationContext
) -> list[PdfSignatureStatus | Exception]:
    results: list[PdfSignatureStatus | Exception] = []
    try:
        for sig in signatures:
            try:
                results.append(await async_validate_pdf_signature(sig, signer_validation_context=context))
            except Exception as exc:
                results.append(exc)
    finally:
        await context.aclose()
    return results


def pades_verify(pdf: bytes, *, trust_roots: list[x509.Certificate]) -> PdfSignatureResult:
    """Check every signature in the PDF, offline, against `trust_roots`.

    No network: no certificate, CRL or OCSP is fetched, and revocation is not checked (a B-B
    signature carries no revocation data; trust rests on the roots given). The certificates are
    checked as of now. Never raises for a malformed or tampered file: the reasons say what is
    wrong. `signer` is the subject of the last (outermost) signature's certificate.
    """
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_regular_signatures)
    except Exception as exc:
        return PdfSignatureResult(False, False, False, "", [f"The file could not be read as a PDF: {exc}"])
    if not signatures:
        return PdfSignatureResult(False, False, False, "", ["The PDF carries no signature."])

    context = ValidationContext(
        trust_roots=[_asn1_cert(root) for root in trust_roots],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    valid = intact = trusted = True
    signer = ""
    reasons: list[str] = []
    statuses = _run(_validate_all(signatures, context))
    for index, (sig, status) in enumerate(zip(signatures, statuses, strict=True)):
        if isinstance(status, Exception):
            valid = intact = trusted = False
            reasons.append(f"Signature {sig.field_name!r} could not be validated: {status}")
            continue
        s_valid, s_intact, s_trusted, s_reasons = _judge(sig, status, last=index == len(signatures) - 1)
        valid &= s_valid
        intact &= s_intact
        trusted &= s_trusted
        reasons.extend(s_reasons)
        signer = _subject(status.signing_cert)
    return PdfSignatureResult(valid=valid, intact=intact, trusted=trusted, signer=signer, reasons=reasons)


# --- attachments ----------------------------------------------------------------------------------


def _text(obj: Any) -> str:
    """A PDF string (text or bytes) as str."""
    obj = obj.get_object() if isinstance(obj, generic.IndirectObject) else obj
    if isinstance(obj, bytes):
        return obj.decode("latin-1")
    return str(obj)


def _name_tree_get(node: generic.DictionaryObject, name: str, depth: int = 0) -> Any:
    if depth > _MAX_NAME_TREE_DEPTH:
        return None
    names = node.get("/Names")
    if names is not None:
        pairs = names.get_object()
        for i in range(0, len(pairs) - 1, 2):
            if _text(pairs[i]) == name:
                return pairs[i + 1].get_object()
    kids = node.get("/Kids")
    if kids is not None:
        for kid in kids.get_object():
            kid = kid.get_object()
            limits = kid.get("/Limits")
            if limits is not None and not _text(limits[0]) <= name <= _text(limits[1]):
                continue
            found = _name_tree_get(kid, name, depth + 1)
            if found is not None:
                return found
    return None


def pdf_attachment(pdf: bytes, name: str) -> bytes | None:
    """The bytes of the embedded file called `name`; None if there is none, or if `pdf` cannot
    be read as a PDF at all (a verifier then simply finds no payload).

    Looks the name up in the document's `/EmbeddedFiles` name tree, then among the
    catalogue's associated files (`/AF`) by their `/UF` or `/F` file name. Reads the latest
    revision, so a signed file's attachments are those of the document that was signed
    unless an update after signing replaced them (which `pades_verify` reports).
    """
    try:
        root = PdfFileReader(BytesIO(pdf), strict=False).root
    except Exception:
        return None
    spec = None
    names = root.get("/Names")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        spec = _name_tree_get(names.get_object()["/EmbeddedFiles"].get_object(), name)
    if spec is None:
        for ref in root.get("/AF", generic.ArrayObject()):
            candidate = ref.get_object()
            if name in (_text(candidate.get("/UF", "")), _text(candidate.get("/F", ""))):
                spec = candidate
                break
    if not isinstance(spec, generic.DictionaryObject) or "/EF" not in spec:
        return None
    ef = spec["/EF"].get_object()
    stream = ef.get("/UF") or ef.get("/F")
    if stream is None:
        return None
    data: bytes = stream.get_object().data
    return data
