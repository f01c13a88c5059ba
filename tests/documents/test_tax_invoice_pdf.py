"""What the PDF shows: a tax invoice's particulars (National Bureau for Revenue; listed in
docs/document-format.md against the PDF), read back with poppler's pdftotext, and only what
the sealed payload says — a catalogue renamed after issue changes nothing on the document."""

import subprocess
from pathlib import Path

import pytest

from khutwa.catalogue.models import Activity
from khutwa.documents import services
from khutwa.documents.pdf import document_pdf
from khutwa.licensing.models import Licence
from tests.documents.conftest import line

pytestmark = pytest.mark.django_db

ISSUER_VAT = "200012345600003"
BUYER_VAT = "210098765400001"


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(  # noqa: S603
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(result.stdout.split())


def test_a_tax_invoice_shows_what_the_nbr_asks(holder, licence, tmp_path):
    Licence.objects.filter(pk=licence.pk).update(
        vat_number=ISSUER_VAT, building="12", road="3404", block="934"
    )
    buyer = services.customer_create(
        actor=holder,
        kind="business",
        cr_number="145678-1",
        name_ar="شركة النخلة",
        name_en="Palm Trading W.L.L.",
        address="Shop 4, Road 1701, Manama",
        vat_number=BUYER_VAT,
    )
    invoice = services.document_issue(
        actor=holder,
        data=services.DocumentInput(
            type="invoice",
            customer=buyer.pk,
            lines=[
                line(description="Catering", quantity="2", unit_price="5.005", vat_category="S"),
                line(description="Bread", quantity="1", unit_price="1.000", vat_category="Z"),
            ],
        ),
    ).document
    text = text_of(document_pdf(invoice), tmp_path)
    assert "Tax invoice" in text and invoice.number in text
    assert ISSUER_VAT in text and BUYER_VAT in text  # supplier's and VAT-registered buyer's numbers
    assert "Palm Trading W.L.L." in text and "Shop 4, Road 1701, Manama" in text  # buyer name, address
    assert "3404 Road" in text and "934 Block" in text and "Isa Town" in text  # supplier's address
    assert "10.00%" in text and "0.00%" in text  # the VAT rate of each line
    assert "Total excluding" in text and "including VAT" in text
    assert "1.001 BHD" in text  # VAT total in BHD: 10% of 10.010, rounded once
    assert "11.011 BHD" in text or "12.011 BHD" in text
    assert invoice.payload["vat"] == "1.001" and invoice.payload["total"] == "12.011"


def test_a_plain_invoice_says_the_issuer_is_not_vat_registered(issue, tmp_path):
    text = text_of(document_pdf(issue("invoice")), tmp_path)
    assert "Not VAT-registered" in text and "Tax invoice" not in text and "VAT rate" not in text


def test_what_a_sealed_document_shows_never_changes(issue, tmp_path):
    invoice = issue("invoice", lines=[line(activity="home-meals")])
    original = Activity.objects.get(code="home-meals").name_en
    Activity.objects.filter(code="home-meals").update(name_en="Renamed activity", name_ar="نشاط معدل")
    text = text_of(document_pdf(invoice), tmp_path)
    assert original in text and "Renamed activity" not in text
    assert invoice.payload["lines"][0]["activity_name_en"] == original
    assert invoice.payload["issuer"]["activity_names"]["home-meals"]["en"] == original


def test_amounts_in_words_are_printed_from_the_payload(issue, tmp_path):
    invoice = issue("invoice", lines=[line(quantity="1", unit_price="1250.500")])
    text = text_of(document_pdf(invoice), tmp_path)
    assert invoice.payload["total_words"]["en"] in text
    assert "One thousand two hundred and fifty Bahraini dinars and five hundred fils" in text
