import datetime as dt
import json

import pytest

from khutwa.documents.models import Document, DocumentCounter
from tests.api.test_licensing_api import auth
from tests.documents.conftest import line
from tests.licensing.factories import applicant

pytestmark = pytest.mark.django_db


def invoice_body(customer, **kw):
    body = {
        "type": "invoice",
        "customer": customer.pk,
        "lines": [
            {
                "activity": "home-meals",
                "description": "Lunch",
                "quantity": "2",
                "unit": "piece",
                "unit_price": "5.500",
                "discount": "0",
                "vat_category": "",
                "item_code": "",
                "brand": "",
            }
        ],
        "tamkeen_application_number": "TMK-2026-000001",
    }
    body.update(kw)
    return body


def test_issue_through_the_api_returns_the_trust_fields(client, holder, customer):
    headers = auth(holder)
    response = client.post(
        "/api/v1/documents", invoice_body(customer), content_type="application/json", **headers
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["number"].startswith("INV-") and data["total"] == "11.000" and data["currency"] == "BHD"
    assert data["counter"] == 1 and data["previous_hash"] == "0" * 64 and len(data["hash"]) == 64
    assert data["verify_url"].endswith(f"/verify/{data['public_id']}")
    assert data["qr"].startswith(data["verify_url"] + "?")
    got = client.get(f"/api/v1/documents/{data['public_id']}", **headers).json()
    assert got["hash"] == data["hash"] and got["customer"] == customer.pk
    pdf = client.get(f"/api/v1/documents/{data['public_id']}/pdf", **headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xml = client.get(f"/api/v1/documents/{data['public_id']}/xml", **headers)
    assert xml.status_code == 200 and b"<Invoice" in xml.content
    listed = client.get("/api/v1/documents", {"type": "invoice"}, **headers).json()
    assert listed["count"] == 1


def test_bad_input_is_a_422_naming_fields_and_consumes_no_number(client, holder, customer):
    headers = auth(holder)
    body = invoice_body(customer)
    body["lines"][0].update({"quantity": "0", "unit_price": "1.0001", "activity": "pottery"})
    response = client.post(
        "/api/v1/documents", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **headers
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"lines[0].quantity", "lines[0].unit_price", "lines[0].activity"} <= fields
    assert not Document.objects.exists() and not DocumentCounter.objects.exists()


def test_idempotency_key(client, holder, customer):
    headers = {**auth(holder), "HTTP_IDEMPOTENCY_KEY": "order-77"}
    first = client.post(
        "/api/v1/documents", invoice_body(customer), content_type="application/json", **headers
    )
    again = client.post(
        "/api/v1/documents", invoice_body(customer), content_type="application/json", **headers
    )
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["public_id"] == again.json()["public_id"]
    other = client.post(
        "/api/v1/documents",
        invoice_body(customer, tamkeen_application_number="X"),
        content_type="application/json",
        **headers,
    )
    assert other.status_code == 409
    assert Document.objects.count() == 1


def test_another_holders_documents_are_404(client, issue):
    invoice = issue("invoice")
    headers = auth(applicant())
    for url in (
        f"/api/v1/documents/{invoice.public_id}",
        f"/api/v1/documents/{invoice.public_id}/pdf",
        f"/api/v1/documents/{invoice.public_id}/xml",
    ):
        assert client.get(url, **headers).status_code == 404
    assert client.post(f"/api/v1/documents/{invoice.public_id}/invoice", **headers).status_code == 404


def test_public_verify_endpoint_says_what_proves_the_document_and_nothing_personal(client, issue, customer):
    invoice = issue("invoice")
    data = client.get(f"/api/v1/verify/{invoice.public_id}").json()
    assert data["valid"] is True and data["reasons"] == []
    assert data["number"] == invoice.number and data["total"] == "11.000"
    assert (
        data["issuer"]["licence_status_at_issue"] == "active"
        and data["issuer"]["licence_status_now"] == "active"
    )
    assert data["credited"] is False and data["paid"] is False
    assert customer.cpr not in str(data) and customer.name_en not in str(data)
    assert client.get("/api/v1/verify/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/api/v1/verify/not-a-uuid").status_code == 404


def test_public_verify_reports_credit_payment_tampering_and_the_licence_now(client, issue, licence):
    from django.db import connection

    from khutwa.licensing.models import LicenceStatus

    invoice = issue("invoice")  # 11.000
    issue("credit_note", invoice=str(invoice.public_id), reason="Returned", lines=[line(unit_price="0.500")])
    url = f"/api/v1/verify/{invoice.public_id}"
    data = client.get(url).json()
    assert data["credited"] is True and data["paid"] is False
    issue("receipt", payment_method="cash", payment_amount="10", allocations=[(str(invoice.public_id), "10")])
    data = client.get(url).json()
    assert data["paid"] is True and data["valid"] is True
    shown = dt.datetime.fromisoformat(data["issued_at"].replace("Z", "+00:00"))
    assert abs(shown - invoice.issued_at) < dt.timedelta(milliseconds=1)  # JSON shows milliseconds
    type(licence).objects.filter(pk=licence.pk).update(status=LicenceStatus.SUSPENDED)
    issuer = client.get(url).json()["issuer"]
    assert (issuer["licence_status_at_issue"], issuer["licence_status_now"]) == ("active", "suspended")
    from khutwa.documents.triggers import triggers_suspend

    triggers_suspend(connection)  # the database owner edits rows behind the application
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE documents_document SET payload = %s WHERE id = %s",
            [json.dumps({**invoice.payload, "total": "1.000"}), invoice.pk],
        )
    data = client.get(url).json()
    assert data["valid"] is False and data["reasons"]


def test_customers_api(client, holder):
    headers = auth(holder)
    bad = client.post(
        "/api/v1/customers",
        {"kind": "individual", "cpr": "12", "name_en": "X"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **headers,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cpr"
    ok = client.post(
        "/api/v1/customers",
        {"kind": "business", "cr_number": "12345-1", "name_en": "Shop"},
        content_type="application/json",
        **headers,
    )
    assert ok.status_code == 201
    assert client.get("/api/v1/customers", **headers).json()["count"] == 1


def test_statements_and_quotation_answers_through_the_api(client, holder, customer, issue):
    from django.utils import timezone

    quotation = issue("quotation")
    customer_user = applicant(cpr="870303003")
    response = client.post(f"/api/v1/documents/{quotation.public_id}/accept", **auth(customer_user))
    assert response.status_code == 200
    invoice = client.post(f"/api/v1/documents/{quotation.public_id}/invoice", **auth(holder))
    assert invoice.status_code == 201
    today = timezone.localdate().isoformat()
    statement = client.post(
        "/api/v1/statements",
        {"customer": customer.pk, "from": today, "to": today},
        content_type="application/json",
        **auth(holder),
    )
    assert statement.status_code == 201 and statement.json()["type"] == "statement"


def test_the_customer_list_pages_by_limit_and_offset_with_the_total(client, holder):
    """API.md: every list takes `?limit=&offset=`; `count` is the total, not the page's length."""
    headers = auth(holder)
    for n in range(3):
        client.post(
            "/api/v1/customers",
            {"kind": "business", "cr_number": f"1234{n}-1", "name_en": f"Shop {n}"},
            content_type="application/json",
            **headers,
        )
    pages = [client.get(f"/api/v1/customers?limit=2&offset={o}", **headers).json() for o in (0, 2)]
    assert [len(p["items"]) for p in pages] == [2, 1] and {p["count"] for p in pages} == {3}
    assert len({c["id"] for p in pages for c in p["items"]}) == 3
    bad = client.get("/api/v1/customers?limit=0", HTTP_ACCEPT_LANGUAGE="en", **headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "limit"
