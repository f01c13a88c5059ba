"""PDF/A-3b rendering with associated files, PAdES signing and verification (no database).

Checked with pyHanko's reader and, independently, with poppler's command-line tools
(`pdfinfo`, `pdfdetach`, `pdfsig`, `pdftotext`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import fontpkg_amiri
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from khutwa.trust.pdf import (
    Attachment,
    PdfRenderError,
    pades_sign,
    pades_verify,
    pdf_attachment,
    render_pdfa3,
)

FONT_DIR = Path(fontpkg_amiri.__file__).parent / "files"

UBL = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
    b'<cbc:ID xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
    b"INV-2025-000042</cbc:ID></Invoice>\n"
)
PAYLOAD = '{"doc":"INV-2025-000042","seller":"مطبخ أم علي","total":"12.500"}'.encode()

ATTACHMENTS = [
    Attachment(
        name="invoice.xml",
        data=UBL,
        mime="application/xml",
        description="UBL 2.1 invoice",
        relationship="Alternative",
    ),
    Attachment(
        name="khutwa-document.json",
        data=PAYLOAD,
        mime="application/json",
        description="Signed canonical payload",
        relationship="Data",
    ),
]

ARABIC_WORDS = ["فاتورة", "المجموع", "البحرين"]
ENGLISH_WORDS = ["Invoice", "Total", "Bahrain"]

HTML = f"""<!doctype html>
<html lang="ar" dir="rtl">
<head>
<meta charset="utf-8">
<style>
@font-face {{ font-family: Amiri; src: url("{(FONT_DIR / "Amiri-Regular.ttf").as_uri()}"); }}
@font-face {{ font-family: Amiri; font-weight: bold; src: url("{(FONT_DIR / "Amiri-Bold.ttf").as_uri()}"); }}
@page {{ size: A4; margin: 15mm; }}
body {{ font-family: Amiri; font-size: 12pt; }}
.en {{ direction: ltr; text-align: left; }}
</style>
</head>
<body>
<h1>فاتورة رقم 42</h1>
<p class="en"><b>Invoice</b> number 42</p>
<p>المجموع: 12.500 د.ب — مملكة البحرين</p>
<p class="en">Total: 12.500 BHD, Kingdom of Bahrain</p>
</body>
</html>
"""


@dataclass(frozen=True)
class Pki:
    root: x509.Certificate
    leaf: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey
    other_root: x509.Certificate


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BH"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Khutwa test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _root(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


@pytest.fixture(scope="module")
def pki() -> Pki:
    root, root_key = _root("Khutwa Test Root CA")
    other_root, _ = _root("Some Other Root CA")
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("Khutwa Official Documents"))
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    return Pki(root=root, leaf=leaf, leaf_key=leaf_key, other_root=other_root)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_pdfa3(HTML, attachments=ATTACHMENTS, title="فاتورة INV-2025-000042", lang="ar")


@pytest.fixture(scope="module")
def signed(pdf: bytes, pki: Pki) -> bytes:
    return pades_sign(
        pdf, key=pki.leaf_key, certificate=pki.leaf, chain=[pki.root], reason="Official Khutwa document"
    )


def _run(tool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool, *map(str, args)], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603


def _write(tmp_path: Path, data: bytes, name: str = "doc.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _xmp(data: bytes) -> etree._Element:
    reader = PdfFileReader(BytesIO(data))
    stream = reader.root["/Metadata"].get_object()
    return etree.fromstring(stream.data, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def _xmp_value(root: etree._Element, ns: str, name: str) -> str | None:
    """A simple XMP property, written either as an attribute or as an element."""
    tag = f"{{{ns}}}{name}"
    for description in root.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"):
        if tag in description.attrib:
            return description.attrib[tag]
        element = description.find(tag)
        if element is not None and element.text:
            return element.text
    return None


PDFAID = "http://www.aiim.org/pdfa/ns/id/"


def _filespecs(data: bytes) -> list[generic.DictionaryObject]:
    reader = PdfFileReader(BytesIO(data))
    return [ref.get_object() for ref in reader.root["/AF"]]


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


# --- PDF/A-3b with associated files ------------------------------------------------------------


def test_pdf_header_and_pdfinfo(pdf: bytes, tmp_path: Path) -> None:
    assert pdf.startswith(b"%PDF-1.7")
    result = _run("pdfinfo", _write(tmp_path, pdf))
    assert result.returncode == 0, result.stderr
    assert "Pages:           1" in result.stdout
    assert "INV-2025-000042" in result.stdout  # the title


@pytest.mark.parametrize("which", ["unsigned", "signed"])
def test_xmp_declares_pdfa_3b(which: str, pdf: bytes, signed: bytes) -> None:
    xmp = _xmp(pdf if which == "unsigned" else signed)
    assert _xmp_value(xmp, PDFAID, "part") == "3"
    assert _xmp_value(xmp, PDFAID, "conformance") == "B"


@pytest.mark.parametrize("which", ["unsigned", "signed"])
def test_pdfdetach_lists_attachments_and_bytes_round_trip(
    which: str, pdf: bytes, signed: bytes, tmp_path: Path
) -> None:
    data = pdf if which == "unsigned" else signed
    path = _write(tmp_path, data)
    listing = _run("pdfdetach", "-list", path)
    assert listing.returncode == 0, listing.stderr
    assert "2 embedded files" in listing.stdout, listing.stdout
    for attachment in ATTACHMENTS:
        assert attachment.name in listing.stdout
        assert pdf_attachment(data, attachment.name) == attachment.data
        saved = tmp_path / f"saved-{attachment.name}"
        result = _run("pdfdetach", "-savefile", attachment.name, "-o", saved, path)
        assert result.returncode == 0, result.stderr
        assert saved.read_bytes() == attachment.data
    assert pdf_attachment(data, "missing.txt") is None
    assert pdf_attachment(b"not a pdf", "invoice.xml") is None


def test_filespecs_carry_af_relationship_and_mime(pdf: bytes) -> None:
    specs = _filespecs(pdf)
    assert len(specs) == len(ATTACHMENTS)  # each associated file listed once in /AF
    by_name = {str(spec["/UF"]): spec for spec in specs}
    for attachment in ATTACHMENTS:
        spec = by_name[attachment.name]
        assert spec["/AFRelationship"] == "/" + attachment.relationship
        assert str(spec["/Desc"]) == attachment.description
        stream = spec["/EF"]["/F"].get_object()
        assert stream["/Subtype"] == "/" + attachment.mime
        assert stream["/Params"]["/Size"] == len(attachment.data)


def test_same_bytes_keep_their_own_relationship() -> None:
    twins = [
        Attachment(name="a.txt", data=b"same", mime="text/plain", relationship="Source"),
        Attachment(name="b.txt", data=b"same", mime="text/plain", relationship="Supplement"),
    ]
    data = render_pdfa3("<p>twins</p>", attachments=twins, title="twins", lang="en")
    relationships = {str(spec["/UF"]): spec["/AFRelationship"] for spec in _filespecs(data)}
    assert relationships == {"a.txt": "/Source", "b.txt": "/Supplement"}


@pytest.mark.parametrize("which", ["unsigned", "signed"])
def test_pdftotext_extracts_arabic_and_english(which: str, pdf: bytes, signed: bytes, tmp_path: Path) -> None:
    result = _run("pdftotext", "-enc", "UTF-8", _write(tmp_path, pdf if which == "unsigned" else signed), "-")
    assert result.returncode == 0, result.stderr
    for word in ARABIC_WORDS + ENGLISH_WORDS:
        assert word in result.stdout, result.stdout


def test_only_local_files_and_data_uris_are_fetched() -> None:
    for html in (
        '<img src="http://127.0.0.1:9/logo.png">',
        "<style>@font-face { font-family: X; src: url(https://127.0.0.1:9/x.ttf); }"
        " p { font-family: X; }</style><p>x</p>",
        '<img src="file:///nonexistent/logo.png">',  # a local file that is not there is an error too
    ):
        with pytest.raises(PdfRenderError):
            render_pdfa3(html, attachments=[], title="t")
    # data: URIs (the QR code as an SVG) are fine
    svg = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/%3E"
    assert render_pdfa3(f'<img src="{svg}">', attachments=[], title="t").startswith(b"%PDF")


def test_html_cannot_embed_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the PDF")
    html = f'<link rel="attachment" href="{secret.as_uri()}"><p>x</p>'
    data = render_pdfa3(html, attachments=ATTACHMENTS[:1], title="t")
    assert [str(spec["/UF"]) for spec in _filespecs(data)] == ["invoice.xml"]
    assert pdf_attachment(data, "secret.txt") is None


def test_attachment_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="relationship"):
        Attachment(name="x.xml", data=b"", mime="application/xml", relationship="Owner")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="plain file name"):
        Attachment(name="../x.xml", data=b"", mime="application/xml")
    with pytest.raises(ValueError, match="unique"):
        render_pdfa3("<p>x</p>", attachments=[ATTACHMENTS[0], ATTACHMENTS[0]], title="t")


# --- PAdES ----------------------------------------------------------------------------------------


def test_pdfsig_reports_valid_signature_over_whole_document(signed: bytes, tmp_path: Path) -> None:
    result = _run("pdfsig", _write(tmp_path, signed))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Signature is Valid." in output, output
    assert "Total document signed" in output, output
    assert "ETSI.CAdES.detached" in output, output
    assert "KhutwaSignature" in output, output


def test_signature_is_an_incremental_update(pdf: bytes, signed: bytes) -> None:
    assert signed.startswith(pdf)  # every byte WeasyPrint wrote is still there
    reader = PdfFileReader(BytesIO(signed))
    sig = reader.embedded_regular_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.sig_object["/Reason"] == "Official Khutwa document"
    assert sig.sig_object["/Location"] == "Kingdom of Bahrain"
    widget = sig.sig_field
    assert widget["/F"] & 4  # printable, as PDF/A requires of annotations
    assert [float(v) for v in widget["/Rect"]] == [0, 0, 0, 0]  # invisible: no appearance needed


def test_info_dictionary_agrees_with_xmp_after_signing(signed: bytes) -> None:
    """PDF/A: every info-dictionary entry must equal its XMP counterpart."""
    reader = PdfFileReader(BytesIO(signed))
    xmp = _xmp(signed)
    info = reader.trailer["/Info"].get_object()
    producer = _xmp_value(xmp, "http://ns.adobe.com/pdf/1.3/", "Producer")
    assert str(info["/Producer"]) == producer
    assert "/ModDate" not in info
    title = xmp.find(
        ".//{http://purl.org/dc/elements/1.1/}title//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"
    )
    assert title is not None
    assert str(info["/Title"]) == title.text == "فاتورة INV-2025-000042"


def test_pades_verify_with_the_right_root(signed: bytes, pki: Pki) -> None:
    result = pades_verify(signed, trust_roots=[pki.root])
    assert (result.valid, result.intact, result.trusted) == (True, True, True), result.reasons
    assert result.ok
    assert result.reasons == []
    assert "CN=Khutwa Official Documents" in result.signer


@pytest.mark.parametrize("roots", ["other", "none"])
def test_pades_verify_with_another_root(roots: str, signed: bytes, pki: Pki) -> None:
    # no roots at all must not fall back to the operating system's trust store
    result = pades_verify(signed, trust_roots=[pki.other_root] if roots == "other" else [])
    assert result.valid
    assert result.intact
    assert not result.trusted
    assert not result.ok
    assert any("trusted root" in reason for reason in result.reasons), result.reasons


@pytest.mark.parametrize("where", ["header", "body"])
def test_one_flipped_byte_breaks_the_signature(where: str, signed: bytes, pki: Pki, tmp_path: Path) -> None:
    if where == "header":
        offset = signed.index(b"\n") + 2  # the binary comment on line 2
    else:
        offset = signed.index(b"stream\n", len(signed) // 3) + 100  # inside a stream of the signed part
    sig_start = signed.index(b"/Contents <")
    assert offset < sig_start
    tampered = _flip(signed, offset)

    result = pades_verify(tampered, trust_roots=[pki.root])
    assert not result.intact
    assert not result.valid
    assert not result.ok
    assert any("changed after signing" in reason for reason in result.reasons), result.reasons

    check = _run("pdfsig", _write(tmp_path, tampered))
    output = check.stdout + check.stderr
    assert "Signature is Valid." not in output, output
    assert "Signature is Invalid." in output or "Digest Mismatch." in output, output


def test_changes_appended_after_signing_are_not_intact(signed: bytes, pki: Pki) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    info = writer.trailer["/Info"].get_object()
    info["/Title"] = generic.TextStringObject("Changed")
    writer.update_container(info)
    out = BytesIO()
    writer.write(out)
    result = pades_verify(out.getvalue(), trust_roots=[pki.root])
    assert result.valid  # the signature still verifies over what it covers...
    assert not result.intact  # ...but the file is no longer what was signed
    assert any("does not cover it all" in reason for reason in result.reasons), result.reasons


def test_unsigned_and_broken_files(pdf: bytes, pki: Pki) -> None:
    unsigned = pades_verify(pdf, trust_roots=[pki.root])
    assert (unsigned.valid, unsigned.intact, unsigned.trusted) == (False, False, False)
    assert unsigned.reasons == ["The PDF carries no signature."]
    broken = pades_verify(b"not a pdf", trust_roots=[pki.root])
    assert not broken.ok
    assert broken.reasons


def test_key_must_match_certificate(pdf: bytes, pki: Pki) -> None:
    with pytest.raises(ValueError, match="does not belong"):
        pades_sign(
            pdf, key=ec.generate_private_key(ec.SECP256R1()), certificate=pki.leaf, chain=[], reason="x"
        )


def test_usable_inside_an_event_loop(pdf: bytes, pki: Pki) -> None:
    """pyHanko's synchronous API calls asyncio.run; these functions also work from async code."""

    async def sign_and_verify() -> bool:
        signed = pades_sign(pdf, key=pki.leaf_key, certificate=pki.leaf, chain=[pki.root], reason="async")
        return pades_verify(signed, trust_roots=[pki.root]).ok

    assert asyncio.run(sign_and_verify())


def test_module_imports_neither_django_nor_weasyprint() -> None:
    """Verifiers use it without Django; WeasyPrint (and Pango) load only to render."""
    code = (
        "import sys, khutwa.trust.pdf; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'django', 'weasyprint'}); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_process_that_does_not_sign_imports_no_pyhanko(tmp_path: Path) -> None:
    """pyHanko (with aiohttp) costs every process about 0.8 s of CPU to import: a `khutwa`
    process loads the whole URLconf (the API included) and runs the system checks without it;
    it is imported the first time something is signed, time-stamped or verified."""
    code = (
        "import sys, django; django.setup(); "
        "from django.core.management import call_command; "
        "import khutwa.config.urls, khutwa.documents.signing, khutwa.trust.tsa; call_command('check'); "
        "loaded = lambda: sorted({m.split('.')[0] for m in sys.modules} & {'pyhanko', 'aiohttp'}); "
        "before = loaded(); from khutwa.trust.pdf import pades_sign; "
        "from khutwa.trust.tsa import LocalTimeStamper; print(before, loaded())"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "khutwa.config.settings", "KHUTWA_VAR_DIR": str(tmp_path)}
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split("\n")[-2] == "[] ['aiohttp', 'pyhanko']", result.stdout
