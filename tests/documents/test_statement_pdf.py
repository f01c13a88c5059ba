"""A long statement's PDF is laid out in parts (documents/pdf.py, trust/pdf.render_pdfa3_parts)
and is still one signed PDF/A-3 file that reads as one statement."""

import re
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader

from khutwa.documents.pdf import document_pdf
from khutwa.documents.statements import statement_issue
from khutwa.trust.pdf import pdf_attachment
from tests.documents.conftest import line
from tests.pdfsig import pdfsig

pytestmark = pytest.mark.django_db

PART = 12


def _run(*args: str | Path) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, check=True)  # noqa: S603
    return done.stdout


@pytest.fixture
def statement(issue, holder, customer):
    """A statement of 40 entries (invoices, and a receipt every fifth): four parts of 12."""
    invoice = None
    for n in range(40):
        if n % 5 == 4:
            allocation = [(str(invoice.public_id), "3")]
            issue("receipt", payment_method="cash", payment_amount="3", allocations=allocation)
        else:
            invoice = issue("invoice", lines=[line(quantity="1", unit_price=f"{n + 1}.250")])
    today = timezone.localdate()
    return statement_issue(actor=holder, customer_id=customer.pk, start=today, end=today).document


def test_a_statement_in_parts_is_one_signed_pdfa3_that_reads_in_order(statement, settings, tmp_path):
    settings.KHUTWA_STATEMENT_PART_ENTRIES = PART
    entries = statement.payload["statement"]["entries"]
    assert len(entries) == 40

    pdf = document_pdf(statement)  # the signed path

    status, output, signatures = pdfsig(pdf, tmp_path)
    assert status == 0 and signatures and signatures[0].valid, output  # then the document time-stamp
    assert signatures[-1].covers_whole_file, output
    carried = pdf_attachment(pdf, "khutwa-document.json")
    assert carried is not None and statement.number.encode() in carried
    root = PdfFileReader(BytesIO(pdf)).root
    assert len(root["/AF"]) == 1 and len(root["/OutputIntents"]) == 1
    xmp = root["/Metadata"].get_object().data
    assert re.search(rb'pdfaid:part(>|=")3', xmp) and re.search(rb'pdfaid:conformance(>|=")B', xmp)
    # One subset of each font for the whole file, not one per part.
    path = tmp_path / "pdfsig.pdf"  # the file pdfsig read
    fonts = _run("pdffonts", path).splitlines()[2:]
    names = [f.split()[0].split("+")[-1] for f in fonts]
    assert len(names) == len(set(names)), fonts

    pages = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", path)).group(1))
    assert pages >= 4  # each part begins on a new page
    text = _run("pdftotext", "-layout", "-enc", "UTF-8", path, "-")
    # Every entry once, in order.
    at = [text.find(e["number"]) for e in entries]
    assert all(text.count(e["number"]) == 1 for e in entries)
    assert at == sorted(at) and at[0] >= 0
    # At each border between parts, the balance brought forward is the last entry's balance.
    brought = [ln for ln in text.splitlines() if "Balance brought forward" in ln]
    assert len(brought) == 3
    for k, row in enumerate(brought, start=1):
        assert entries[k * PART - 1]["balance"] in row, row
    assert text.count("Opening balance") == 1 and text.count("Closing balance") == 1
    assert text.count("Ageing of the balance") == 1 and text.count("Scan to verify") == 1
    # Every page's footer: its number and the statement's page count.
    for page in range(1, pages + 1):
        footer = _run("pdftotext", "-f", page, "-l", page, "-layout", "-enc", "UTF-8", path, "-")
        assert f"{page} / {pages}" in footer and statement.number in footer, footer
