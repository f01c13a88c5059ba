import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from khutwa.documents.models import Document
from khutwa.documents.pdf import document_pdf, qr_of
from tests.documents.conftest import line
from tests.licensing.factories import applicant

pytestmark = pytest.mark.django_db


def test_holder_issues_an_invoice_from_the_form(client, holder, customer):
    client.force_login(holder)
    assert client.get("/ar/documents/new/?type=invoice").status_code == 200
    response = client.post(
        "/en/documents/new/",
        {
            "type": "invoice",
            "customer": customer.pk,
            "line_count": "1",
            "lines-0-activity": "home-meals",
            "lines-0-description": "Lunch boxes",
            "lines-0-quantity": "3",
            "lines-0-unit": "piece",
            "lines-0-unit_price": "2.250",
            "lines-0-discount": "0",
        },
    )
    document = Document.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/en/documents/{document.public_id}/"
    assert document.total == 6750 / 1000
    page = client.get(response["Location"]).content.decode()
    assert document.number in page and "6.750" in page


def test_bad_lines_in_the_form_name_the_field_and_issue_nothing(client, holder, customer):
    client.force_login(holder)
    response = client.post(
        "/en/documents/new/",
        {
            "type": "invoice",
            "customer": customer.pk,
            "line_count": "1",
            "lines-0-activity": "pottery",
            "lines-0-description": "Vase",
            "lines-0-quantity": "1.2345",
            "lines-0-unit_price": "2",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    # Named as the form names them, linked to their inputs; never the API's keys.
    assert "Line 1, activity:" in page and "Line 1, quantity:" in page
    assert 'href="#l0a"' in page and 'href="#l0q"' in page
    assert "lines[0]" not in page
    assert not Document.objects.exists()


def test_live_totals(client, holder):
    client.force_login(holder)
    response = client.post(
        "/en/documents/new/totals/",
        {
            "line_count": "2",
            "lines-0-quantity": "2",
            "lines-0-unit_price": "1.255",
            "lines-0-description": "a",
            "lines-1-quantity": "1",
            "lines-1-unit_price": "0.500",
            "lines-1-description": "b",
        },
    )
    assert '<bdi id="live-total">3.010</bdi>' in response.content.decode()


def test_the_customer_sees_the_quotation_and_accepts_it_and_a_stranger_sees_nothing(client, issue):
    quotation = issue("quotation")
    customer_user = applicant(cpr="870303003")
    client.force_login(customer_user)
    assert quotation.number in client.get("/en/documents/").content.decode()
    url = f"/en/documents/{quotation.public_id}/"
    assert "Accept the quotation" in client.get(url).content.decode()
    client.post(f"{url}accept/")
    assert quotation.__class__.objects.get(pk=quotation.pk).response.answer == "accepted"
    client.force_login(applicant())
    assert client.get(url).status_code == 404
    assert client.get(f"{url}pdf" if url.endswith("/") else url).status_code == 404
    assert client.post(f"{url}decline/").status_code == 404


def test_the_public_verification_page_shows_no_personal_data(client, issue, customer):
    invoice = issue("invoice")
    response = client.get(f"/verify/{invoice.public_id}", follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-valid="true"' in page and invoice.number in page
    for personal in (customer.cpr, customer.name_en, customer.name_ar, customer.address):
        assert personal not in page
    qr = qr_of(invoice)
    path = qr.split("/verify/", 1)[1]
    assert 'data-valid="true"' in client.get(f"/en/verify/{path}").content.decode()
    forged = path.replace("11.000", "1.000")
    assert 'data-valid="false"' in client.get(f"/en/verify/{forged}").content.decode()


def test_the_pdf_upload_check(client, issue):
    invoice = issue("invoice")
    pdf = document_pdf(invoice)
    ok = client.post("/en/verify/", {"file": SimpleUploadedFile("a.pdf", pdf, "application/pdf")})
    assert 'data-valid="true"' in ok.content.decode()
    broken = bytearray(pdf)
    broken[broken.index(b"/Producer") + 1] ^= 1
    bad = client.post("/en/verify/", {"file": SimpleUploadedFile("a.pdf", bytes(broken), "application/pdf")})
    assert 'data-valid="false"' in bad.content.decode()
    not_pdf = client.post("/en/verify/", {"file": SimpleUploadedFile("a.txt", b"hello")})
    assert not_pdf.status_code == 400


def test_jwks_is_published_with_retired_keys(client, issue):
    from django.core.management import call_command

    issue("invoice")
    call_command("keys", "rotate", stdout=open("/dev/null", "w"))  # noqa: SIM115
    keys = json.loads(client.get("/.well-known/khutwa-keys.json").content)["keys"]
    statuses = sorted(k["status"] for k in keys)
    assert statuses.count("active") == 1 and "retired" in statuses
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" for k in keys)


def test_statement_and_receipt_pages(client, holder, issue, customer):
    invoice = issue("invoice")
    client.force_login(holder)
    response = client.post(
        "/en/documents/new/",
        {
            "type": "receipt",
            "customer": customer.pk,
            "payment_method": "benefitpay",
            "payment_reference": "BP-1",
            "payment_amount": "11",
            "alloc-0-invoice": str(invoice.public_id),
            "alloc-0-amount": "11",
        },
    )
    assert response.status_code == 302
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    response = client.post("/en/documents/statement/", {"customer": customer.pk, "from": today, "to": today})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Closing balance" in page


def test_status_filters(client, holder, issue):
    from django.utils import timezone

    from khutwa.documents import selectors

    paid = issue("invoice")
    unpaid = issue("invoice")
    issue("receipt", payment_method="cash", payment_amount="11", allocations=[(str(paid.public_id), "11")])
    credited = issue("invoice")
    issue(
        "credit_note",
        invoice=str(credited.public_id),
        reason="x",
        lines=[line(quantity="1", unit_price="11")],
    )
    waiting = issue("quotation")
    today = timezone.localdate()

    def numbers(status):
        return {d.number for d in selectors.documents_for(holder, status=status, today=today)}

    assert numbers("paid") == {paid.number}  # a fully credited invoice is credited, not paid
    assert numbers("unpaid") == {unpaid.number}
    assert numbers("credited") == {credited.number}
    assert numbers("awaiting") == {waiting.number}
    assert numbers("expired") == set()
    client.force_login(holder)
    page = client.get("/en/documents/", {"status": "unpaid"}).content.decode()
    assert unpaid.number in page and paid.number not in page


@pytest.mark.parametrize(("count", "index"), [("1", 1), ("3", 3), ("99", 99)])
def test_add_a_line_numbers_the_row_by_the_line_count_and_advances_it(client, holder, count, index):
    """HTMX "Add a line" sends the form's line_count (hx-include, no hx-vals js: under the CSP);
    the answer is row `index` and an out-of-band line_count of index + 1."""
    client.force_login(holder)
    html = client.get("/en/documents/new/line/", {"line_count": count}).content.decode()
    assert f'id="l{index}d"' in html and f'name="lines-{index}-description"' in html
    oob = f'<input type="hidden" name="line_count" id="line_count" value="{index + 1}" hx-swap-oob="true">'
    assert oob in html


@pytest.mark.parametrize("count", ["", "x", "-1", "200", "10" * 20, "²", "٣"])
def test_add_a_line_with_a_bad_line_count_starts_at_row_zero_never_500(client, holder, count):
    client.force_login(holder)
    response = client.get("/en/documents/new/line/", {"line_count": count})
    assert response.status_code == 200
    assert 'id="l0d"' in response.content.decode()
