"""Reads that must stay cheap at volume: the statement streams a customer's documents, and the
public verification shows a licence's suspension at once whatever it caches."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from khutwa.documents import services
from khutwa.documents.models import Document, DocumentType
from khutwa.documents.statements import statement_compute
from khutwa.licensing.services import licence_change_status
from tests.documents.conftest import line

pytestmark = pytest.mark.django_db


def invoices(holder, customer, count):
    base = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=30)
    return [
        services.document_issue(
            actor=holder,
            data=services.DocumentInput(type=DocumentType.INVOICE, customer=customer.pk, lines=[line()]),
            now=base + dt.timedelta(minutes=k),
        ).document
        for k in range(count)
    ]


def compute(licence, customer):
    end = timezone.localdate()
    return statement_compute(licence=licence, customer=customer, start=end - dt.timedelta(days=365), end=end)


def test_a_statement_streams_rows_without_making_a_model_instance_each(
    licence, holder, customer, monkeypatch
):
    invoices(holder, customer, 6)
    made = []
    original = Document.__init__

    def counting(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Document, "__init__", counting)
    snapshot = compute(licence, customer)
    assert len(snapshot["entries"]) == 6 and snapshot["closing_balance"] == "66.000"
    assert made == []  # tuples from an iterator, not 6 Documents (nor 10,000)


def test_a_statements_queries_do_not_grow_with_its_entries(licence, holder, customer):
    invoices(holder, customer, 2)
    with CaptureQueriesContext(connection) as few:
        small = compute(licence, customer)
    invoices(holder, customer, 7)
    with CaptureQueriesContext(connection) as many:
        large = compute(licence, customer)
    assert len(small["entries"]) == 2 and len(large["entries"]) == 9
    assert len(many.captured_queries) == len(few.captured_queries)
    assert large["ageing"]["not_due"] == large["closing_balance"]


def test_verification_shows_a_suspension_at_once(client, world, licence, holder, customer):
    document = invoices(holder, customer, 1)[0]
    page = f"/en/verify/{document.public_id}"
    api = f"/api/v1/verify/{document.public_id}"
    # Warm whatever the verification keeps between requests (keys, statements, licence rows).
    for _ in range(2):
        assert client.get(page).status_code == 200
        assert client.get(api).json()["issuer"]["licence_status_now"] == "active"
    licence_change_status(
        actor=world.registrar, licence=licence, action="suspend", reason="Inspection failed"
    )
    body = client.get(page).content.decode()
    assert "Suspended" in body
    data = client.get(api).json()
    assert data["issuer"]["licence_status_now"] == "suspended"
    assert data["issuer"]["licence_status_at_issue"] == "active" and data["valid"] is True
