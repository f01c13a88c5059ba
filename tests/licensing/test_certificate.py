"""The licence certificate PDF: bilingual text that extracts, privacy, the QR code, one page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from khutwa.catalogue.models import Activity
from khutwa.licensing.certificate import certificate_pdf, licence_check_url
from khutwa.licensing.models import Application, Licence, LicenceStatus
from tests.licensing.factories import World

pytestmark = pytest.mark.django_db


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} (poppler-utils) is needed to read the certificate PDF"
    return path


def _write(pdf: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return path


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = _write(pdf, tmp_path)
    cmd = [_tool("pdftotext"), "-layout", str(path), "-"]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout  # noqa: S603


def pdf_pages(pdf: bytes, tmp_path: Path) -> int:
    path = _write(pdf, tmp_path)
    out = subprocess.run([_tool("pdfinfo"), str(path)], check=True, capture_output=True, text=True)  # noqa: S603
    return int(next(line.split()[-1] for line in out.stdout.splitlines() if line.startswith("Pages:")))


def qr_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    path = _write(pdf, tmp_path)
    prefix = tmp_path / "page"
    cmd = [_tool("pdftoppm"), "-r", "150", "-png", "-f", "1", "-l", "1", str(path), str(prefix)]
    subprocess.run(cmd, check=True, capture_output=True)  # noqa: S603
    (png,) = tmp_path.glob("page*.png")
    with Image.open(png) as image:
        return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def licence(world: World) -> Licence:
    return world.licensed(activities=["home-meals", "sewing-abayas"])


def test_a_bilingual_pdf_whose_text_extracts(licence: Licence, tmp_path: Path) -> None:
    pdf = certificate_pdf(licence)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    assert licence.number in text
    assert licence.trade_name in text
    assert "Home-cooked meals" in text
    assert "Sewing and abayas" in text
    assert "الخياطة" in text  # Arabic extracts: static Amiri with a proper ToUnicode map
    assert "Work-from-home licence — Productive Home" in text
    assert "Ministry of Social Development — Khutwa programme" in text
    assert licence.valid_from.isoformat() in text
    assert licence.valid_until.isoformat() in text
    assert "Active" in text
    assert licence.name_en in text
    assert licence.tier.name_en in text
    assert "Conditions" not in text
    assert pdf_pages(pdf, tmp_path) == 1


def test_no_cpr_phone_or_address_on_the_certificate(licence: Licence, tmp_path: Path) -> None:
    application = Application.objects.get(licence=licence)
    text = pdf_text(certificate_pdf(licence), tmp_path)
    assert licence.cpr
    assert licence.cpr not in text
    assert application.phone
    assert application.phone not in text
    assert application.email not in text
    assert licence.area not in text


def test_the_qr_code_points_at_the_public_check_page(licence: Licence, tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    url = licence_check_url(licence)
    assert url == f"{settings.KHUTWA_SITE_URL}/licences/{licence.number}-{licence.check_code}"
    pdf = certificate_pdf(licence)
    assert qr_texts(pdf, tmp_path) == [url]
    assert url in pdf_text(pdf, tmp_path)  # also printed under the code


def test_conditions_appear_line_by_line(licence: Licence, tmp_path: Path) -> None:
    licence.conditions = (
        "قسم مراقبة الأغذية / Food Control Section: keep raw food apart\n"
        "الدفاع المدني / Civil Defence: a fire extinguisher in the kitchen"
    )
    licence.save(update_fields=["conditions"])
    text = pdf_text(certificate_pdf(licence), tmp_path)
    assert "Conditions" in text
    lines = [
        line for line in text.splitlines() if "keep raw food apart" in line or "fire extinguisher" in line
    ]
    assert len(lines) == 2  # the line break in the conditions is kept


def test_a_suspended_licence_says_so(licence: Licence, tmp_path: Path) -> None:
    licence.status = LicenceStatus.SUSPENDED
    licence.save(update_fields=["status"])
    text = pdf_text(certificate_pdf(licence), tmp_path)
    assert "Suspended" in text
    assert "This licence is not currently active" in text


def test_a_full_licence_still_fits_one_page(world: World, tmp_path: Path) -> None:
    licence = world.licensed(tier="extended", activities=["home-meals", "sewing-abayas"])
    licence.activities.add(*Activity.objects.exclude(licences=licence)[:3])
    licence.conditions = "\n".join(
        f"Body {n}: keep the kitchen clean and store raw food apart from cooked food at all times, "
        "and keep the fire extinguisher serviced and within reach of the kitchen door"
        for n in range(3)
    )
    licence.status = LicenceStatus.SUSPENDED
    licence.save(update_fields=["conditions", "status"])
    pdf = certificate_pdf(licence)
    assert pdf_pages(pdf, tmp_path) == 1
    assert qr_texts(pdf, tmp_path) == [licence_check_url(licence)]


def test_a_signed_pdfa_3_that_pdfsig_and_pades_verify_accept(licence: Licence, tmp_path: Path) -> None:
    from khutwa.documents.signing import key_store
    from khutwa.trust.pdf import pades_verify
    from tests.pdfsig import pdfsig
    from tests.trust.test_pdf import PDFAID, _xmp, _xmp_value

    pdf = certificate_pdf(licence)
    xmp = _xmp(pdf)
    assert (_xmp_value(xmp, PDFAID, "part"), _xmp_value(xmp, PDFAID, "conformance")) == ("3", "B")
    code, output, entries = pdfsig(pdf, tmp_path)
    assert code == 0, output
    signature = entries[0]
    assert signature.valid, signature.text
    assert signature.field("Signature Type") == "ETSI.CAdES.detached"
    assert signature.field("Signer Certificate Common Name") == "Khutwa Document Signing"
    assert entries[-1].covers_whole_file  # the document time-stamp
    result = pades_verify(pdf, trust_roots=key_store().trust_roots())
    assert result.ok, result.reasons
    assert result.level == "B-LTA"
    # tampering shows
    tampered = bytearray(pdf)
    tampered[pdf.index(b"stream\n", len(pdf) // 4) + 50] ^= 0x01
    assert not pades_verify(bytes(tampered), trust_roots=key_store().trust_roots()).ok
