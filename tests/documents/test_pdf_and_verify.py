import json
import subprocess

import pytest

from khutwa.documents.pdf import document_pdf, qr_of
from khutwa.documents.signing import jwks
from khutwa.documents.ubl import validate_ubl
from khutwa.documents.verification import document_verify, pdf_verify
from khutwa.trust.pdf import pdf_attachment
from khutwa.trust.sandbox import Uncheckable
from tests.documents.conftest import line

pytestmark = pytest.mark.django_db


def test_the_signed_pdf_is_pdfa3_with_ubl_attached_and_pdfsig_says_valid(issue, tmp_path):
    invoice = issue(
        "invoice", lines=[line(item_code="MEAL-20", brand="Aisha's")], tamkeen_application_number="TMK-1"
    )
    pdf = document_pdf(invoice)
    assert document_pdf(invoice) == pdf  # rendered once, kept
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    sig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)  # noqa: S603, S607
    assert "Signature is Valid." in sig.stdout, sig.stdout
    assert "Total document signed" in sig.stdout, sig.stdout
    xml = pdf_attachment(pdf, "invoice.xml")
    assert xml is not None and validate_ubl(xml) == []
    carried = json.loads(pdf_attachment(pdf, "khutwa-document.json"))
    assert carried["payload"] == invoice.payload
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout  # noqa: S603, S607
    assert invoice.number in text and "Not VAT-registered" in text and "TMK-1" in text
    assert "فاتورة" in text
    assert "870303003" not in text  # the customer's CPR is not printed


def test_the_qr_in_the_pdf_decodes_to_content_that_verify_qr_accepts(issue, tmp_path, capsys):
    import zxingcpp
    from PIL import Image

    invoice = issue("invoice")
    path = tmp_path / "i.pdf"
    path.write_bytes(document_pdf(invoice))
    subprocess.run(  # noqa: S603
        ["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")],  # noqa: S607
        check=True,
    )
    image = next(tmp_path.glob("p*.png"))
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(image))]
    assert found == [qr_of(invoice)]
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(jwks()))
    from django.core.management import call_command

    with pytest.raises(SystemExit) as exit_:
        call_command("verify", "--qr", found[0], "--keys", str(keys))
    assert exit_.value.code == 0
    assert invoice.number in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        call_command("verify", str(path), "--keys", str(keys))
    assert exit_.value.code == 0


def test_tampering_is_detected_with_the_right_reason(issue, tmp_path, capsys):
    from django.core.management import call_command

    invoice = issue("invoice")
    pdf = bytearray(document_pdf(invoice))
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(jwks()))
    # change one byte of the PDF's signed content
    position = pdf.index(b"/Producer")
    pdf[position + 1] ^= 0x01
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(pdf))
    with pytest.raises(SystemExit) as exit_:
        call_command("verify", str(bad), "--keys", str(keys))
    assert exit_.value.code == 1
    # change the QR's total
    content = qr_of(invoice).replace("11.000", "19.000")
    with pytest.raises(SystemExit) as exit_:
        call_command("verify", "--qr", content, "--keys", str(keys))
    assert exit_.value.code in (1, 2)
    with pytest.raises(SystemExit) as exit_:
        call_command("verify", "--qr", "not a qr", "--keys", str(keys))
    assert exit_.value.code == 2


def test_online_verification_reports_an_altered_or_missing_chain_link(issue):
    from django.db import connection

    from khutwa.documents.triggers import triggers_suspend

    a, b, _c = issue("invoice"), issue("invoice"), issue("invoice")
    assert document_verify(b).valid
    triggers_suspend(connection)  # the database owner edits rows behind the application
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE documents_document SET payload = %s WHERE id = %s",
            [json.dumps({**b.payload, "total": "1.000"}), b.pk],
        )
    b.refresh_from_db()
    result = document_verify(b)
    assert not result.valid and any("hash" in r or "signature" in r for r in result.reasons)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM documents_documentline WHERE document_id = %s", [a.pk])
        cursor.execute("DELETE FROM documents_document WHERE id = %s", [a.pk])
    assert any("previous document" in r for r in document_verify(b).reasons)


def test_an_uploaded_pdf_is_checked_against_the_record(issue):
    invoice = issue("invoice")
    assert pdf_verify(document_pdf(invoice)).valid
    original = document_pdf(invoice)
    forged = bytearray(original)
    position = forged.index(b"/Producer")
    forged[position + 1] ^= 0x01
    result = pdf_verify(bytes(forged))
    assert not result.valid and result.reasons
    with pytest.raises(Uncheckable):
        pdf_verify(b"%PDF-1.7 nothing")
