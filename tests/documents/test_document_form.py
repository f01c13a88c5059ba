"""The document form: errors named by line and field in the page's language (never the API's
``lines[0].unit_price``), what was typed kept (after an error and when the type changes), and the
verification pages' reasons as sentences, without technical English on the Arabic page."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from khutwa.documents.models import Document
from khutwa.documents.pdf import document_pdf

pytestmark = pytest.mark.django_db


BAD_SECOND_ROW = {
    "type": "invoice",
    "line_count": "2",
    "lines-0-description": "",
    "lines-0-quantity": "",
    "lines-0-unit_price": "",
    "lines-1-activity": "home-meals",
    "lines-1-description": "Lunch boxes",
    "lines-1-quantity": "1.2345",
    "lines-1-unit": "kg",
    "lines-1-unit_price": "2.250",
    "notes-that-are-no-field": "",
}


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_bad_line_is_named_by_its_row_and_what_was_typed_stays(client, holder, customer, language):
    client.force_login(holder)
    response = client.post(f"/{language}/documents/new/", {**BAD_SECOND_ROW, "customer": customer.pk})
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "lines[" not in page and "quantity" not in page.split("</h1>")[0]
    assert 'href="#l1q"' in page and 'id="l1q-error"' in page
    assert 'aria-describedby="l1q-error"' in page
    assert 'value="Lunch boxes"' in page and 'value="1.2345"' in page
    assert '<option value="kg" selected>' in page
    assert f'<option value="{customer.pk}" selected>' in page
    if language == "ar":
        assert "أدخل" in page  # the service's message, in Arabic
    else:
        assert "Line 2, quantity: Enter a quantity above zero" in page
    assert not Document.objects.exists()


def test_changing_the_type_keeps_what_was_typed_and_issues_nothing(client, holder, customer):
    client.force_login(holder)
    typed = {
        "customer": customer.pk,
        "tamkeen_application_number": "TMK-2026-000001",
        "due_date": "2026-12-31",
        "line_count": "1",
        "lines-0-activity": "sewing-abayas",
        "lines-0-description": "Abaya, black",
        "lines-0-quantity": "2",
        "lines-0-unit": "piece",
        "lines-0-unit_price": "35.000",
        "lines-0-discount": "0",
    }
    # Invoice → receipt: the receipt has no lines; they travel along, hidden.
    response = client.post("/en/documents/new/", {**typed, "type": "receipt", "retype": "1"})
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert '<option value="receipt" selected>' in page
    assert 'name="keep-lines-0-description" value="Abaya, black"' in page
    assert 'name="keep-due_date" value="2026-12-31"' in page
    assert 'value="TMK-2026-000001"' in page and "There is a problem" not in page
    # Receipt → invoice: every value is back in its field.
    kept = {f"keep-{k}": v for k, v in typed.items() if k not in ("customer", "tamkeen_application_number")}
    response = client.post(
        "/en/documents/new/",
        {
            "customer": customer.pk,
            "tamkeen_application_number": "TMK-2026-000001",
            **kept,
            "type": "invoice",
            "retype": "1",
        },
    )
    page = html.unescape(response.content.decode())
    assert 'name="lines-0-description" id="l0d" maxlength="500" value="Abaya, black"' in page
    assert 'value="35.000"' in page and 'value="2026-12-31"' in page
    assert '<option value="sewing-abayas" selected>' in page
    assert "keep-" not in page
    assert not Document.objects.exists()


def test_the_verify_page_says_why_in_the_pages_language_without_technical_english(client, issue):
    pdf = bytearray(document_pdf(issue("invoice")))
    pdf[pdf.index(b"/Producer") + 1] ^= 1
    for language in ("ar", "en"):
        response = client.post(
            f"/{language}/verify/", {"file": SimpleUploadedFile("a.pdf", bytes(pdf), "application/pdf")}
        )
        page = response.content.decode()
        assert 'data-valid="false"' in page and 'id="reasons"' in page
        if language == "ar":
            assert "mismatch" not in page and "Signature" not in page and "technical-reasons" not in page
        else:
            assert "technical-reasons" in page


def test_an_empty_upload_gets_the_error_summary(client):
    response = client.post("/ar/verify/", {})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'href="#id_file"' in page and 'aria-describedby="id_file-error"' in page


def test_the_customer_form_names_each_bad_field_in_the_summary_and_beside_it(client, holder):
    client.force_login(holder)
    response = client.post(
        "/ar/customers/new/", {"kind": "individual", "cpr": "123", "name_ar": "", "name_en": ""}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="error-summary"' in page and 'href="#id_cpr"' in page and 'href="#id_name_ar"' in page
    assert 'aria-describedby="id_cpr-error"' in page and 'id="id_cpr-error"' in page
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    assert "الرقم الشخصي:" in summary and "cpr" not in summary.replace("#id_cpr", "")
    assert holder.customers.count() == 0


def test_the_statement_form_links_its_errors_to_the_fields(client, holder, customer):
    client.force_login(holder)
    response = client.post("/en/documents/statement/", {"customer": "", "from": "2026-13-01", "to": ""})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'href="#id_from"' in page and 'aria-describedby="id_from-error"' in page
    assert not Document.objects.exists()
