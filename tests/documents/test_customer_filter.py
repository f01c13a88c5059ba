"""The holder's document list filters by customer with a select while the customer book is
short; past `CUSTOMER_OPTIONS` customers the search field ("Number or customer") does it, and a
customer chosen by a link stays chosen, named, and can be removed — the page never lists the
whole book."""

from __future__ import annotations

import pytest

from khutwa.documents.models import Customer
from khutwa.portal import views_documents
from tests.documents.conftest import add_customers

pytestmark = pytest.mark.django_db


def test_a_short_book_is_a_select_in_the_pages_language(client, holder, customer):
    client.force_login(holder)
    english = client.get(f"/en/documents/?customer={customer.pk}").content.decode()
    arabic = client.get("/ar/documents/").content.decode()
    assert f'<option value="{customer.pk}" selected>Yousif Ebrahim</option>' in english
    assert f'<option value="{customer.pk}">يوسف إبراهيم</option>' in arabic
    assert 'id="customer-chosen"' not in english


@pytest.mark.parametrize("language", ["en", "ar"])
def test_past_the_limit_no_select_and_a_chosen_customer_is_named_and_removable(
    client, holder, customer, issue, monkeypatch, language
):
    monkeypatch.setattr(views_documents, "CUSTOMER_OPTIONS", 5)
    add_customers(holder, 5)  # six in the book
    other = issue("invoice", customer=Customer.objects.get(owner=holder, name_en="Client 003").pk)
    mine = issue("invoice")
    client.force_login(holder)
    page = client.get(f"/{language}/documents/").content.decode()
    assert 'name="customer"' not in page
    assert ("Client 003" if language == "en" else "عميل 003") in page  # in the rows, not in a select
    # Every option on the page is the status's or the type's.
    assert page.count("<option") == page.count(
        "<option", page.index('name="status"'), page.index('name="from"')
    )
    chosen = client.get(f"/{language}/documents/?customer={customer.pk}&type=invoice").content.decode()
    name = "Yousif Ebrahim" if language == "en" else "يوسف إبراهيم"
    assert f'<input type="hidden" name="customer" value="{customer.pk}">' in chosen
    assert 'id="customer-chosen" href="?type=invoice"' in chosen and f"<bdi>{name}</bdi>" in chosen
    label = "show every customer" if language == "en" else "اعرض مستندات جميع العملاء"
    assert label in chosen
    assert mine.number in chosen and other.number not in chosen  # the filter still applies


def test_past_the_limit_another_holders_customer_is_not_named(client, holder, customer, world, monkeypatch):
    monkeypatch.setattr(views_documents, "CUSTOMER_OPTIONS", 0)
    stranger = Customer.objects.create(
        owner=world.registrar, kind="individual", cpr="900000999", name_ar="غريب", name_en="Stranger"
    )
    client.force_login(holder)
    page = client.get(f"/en/documents/?customer={stranger.pk}").content.decode()
    assert "Stranger" not in page and 'id="customer-chosen"' not in page
    assert client.get("/en/documents/?customer=not-a-number").status_code == 200


def test_past_the_limit_the_page_reads_at_most_one_more_than_the_limit(holder, customer, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import translation

    monkeypatch.setattr(views_documents, "CUSTOMER_OPTIONS", 3)
    add_customers(holder, 20)
    with translation.override("en"), CaptureQueriesContext(connection) as queries:
        shown = views_documents._customer_filter(holder, "")
    assert shown == {"customers": None, "customer_chosen": ""}
    [read] = [q["sql"] for q in queries.captured_queries if "documents_customer" in q["sql"]]
    assert "LIMIT 4" in read
