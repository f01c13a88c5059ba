"""The issuing forms' customer select with a long customer book: past `CUSTOMER_OPTIONS`
entries the form lists only what its customer search finds ("Find" posts the form back with
everything typed, issues nothing and consumes no number); the chosen customer then issues as
from a short book. Both languages; another holder's entries are never found."""

from __future__ import annotations

import html
import re

import pytest
from django.utils import timezone

from khutwa.documents.models import Customer, Document, DocumentCounter
from khutwa.portal import views_documents
from tests.documents.conftest import add_customers

pytestmark = pytest.mark.django_db

INVOICE = {
    "type": "invoice",
    "line_count": "1",
    "lines-0-activity": "sewing-abayas",
    "lines-0-description": "Abaya, black",
    "lines-0-quantity": "2",
    "lines-0-unit": "piece",
    "lines-0-unit_price": "15.000",
}


@pytest.fixture
def long_book(holder, world, monkeypatch):
    monkeypatch.setattr(views_documents, "CUSTOMER_OPTIONS", 5)
    for owner in (holder, world.registrar):  # the same names in another holder's book
        add_customers(owner, 12)
    return Customer.objects.filter(owner=holder)


def _options(page: str) -> list[str]:
    select = page[page.index('name="customer" id="id_customer"') :]
    select = select[: select.index("</select>")]
    return re.findall(r'<option value="(\d+)"', select)


def test_a_short_book_is_listed_whole_without_a_search(client, holder, customer):
    client.force_login(holder)
    page = client.get("/en/documents/new/?type=invoice").content.decode()
    assert _options(page) == [str(customer.pk)] and 'name="customer_q"' not in page


@pytest.mark.parametrize(
    ("language", "hint"),
    [("en", "Your customer book is long"), ("ar", "دفتر عملائك طويل")],
)
def test_a_long_book_asks_for_a_search_and_lists_nothing_yet(
    client, holder, customer, long_book, language, hint
):
    client.force_login(holder)
    page = client.get(f"/{language}/documents/new/?type=invoice").content.decode()
    assert _options(page) == [] and 'name="customer_q"' in page and hint in page
    statement = client.get(f"/{language}/documents/statement/").content.decode()
    assert _options(statement) == [] and hint in statement


def test_find_keeps_what_was_typed_issues_nothing_then_the_chosen_customer_issues(client, holder, long_book):
    client.force_login(holder)
    numbers = list(DocumentCounter.objects.values_list("last", flat=True))
    response = client.post(
        "/en/documents/new/", {**INVOICE, "customer_q": "client 003", "find_customer": "1"}
    )
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    wanted = long_book.get(name_en="Client 003")
    assert _options(page) == [str(wanted.pk)]
    assert 'value="Abaya, black"' in page and 'value="client 003"' in page
    assert page.count('name="customer_q"') == 1 and 'name="keep-customer_q"' not in page
    assert not Document.objects.exists()
    assert list(DocumentCounter.objects.values_list("last", flat=True)) == numbers
    # chosen and issued; the search is sent again with the form and changes nothing
    response = client.post(
        "/en/documents/new/", {**INVOICE, "customer_q": "client 003", "customer": wanted.pk}
    )
    assert response.status_code == 302
    assert Document.objects.get().customer == wanted


@pytest.mark.parametrize(
    ("query", "found", "message"),
    [
        ("900000005", ["Client 005"], ""),
        ("عميل 01", ["Client 010", "Client 011"], ""),
        ("nobody", [], "No customer matches this search."),
        (
            "Client",
            ["Client 000", "Client 001", "Client 002", "Client 003", "Client 004"],
            "The first <bdi>5</bdi>",
        ),
    ],
)
def test_the_search_finds_by_name_or_number_within_the_holders_book(
    client, holder, long_book, query, found, message
):
    client.force_login(holder)
    page = client.post(
        "/en/documents/new/", {**INVOICE, "customer_q": query, "find_customer": "1"}
    ).content.decode()
    assert _options(page) == [str(long_book.get(name_en=name).pk) for name in found]
    assert message in page


def test_a_chosen_customer_stays_listed_when_the_search_changes(client, holder, long_book):
    client.force_login(holder)
    chosen = long_book.get(name_en="Client 007")
    page = client.post(
        "/en/documents/new/",
        {**INVOICE, "customer": chosen.pk, "customer_q": "Client 002", "find_customer": "1"},
    ).content.decode()
    assert _options(page) == [str(chosen.pk), str(long_book.get(name_en="Client 002").pk)]
    assert f'<option value="{chosen.pk}" selected>' in page


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_statement_form_finds_then_issues(client, holder, long_book, issue, language):
    client.force_login(holder)
    wanted = long_book.get(name_en="Client 005")
    issue("invoice", customer=wanted.pk)
    today = timezone.localdate()
    period = {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}
    page = client.post(
        f"/{language}/documents/statement/", {**period, "customer_q": "900000005", "find_customer": "1"}
    ).content.decode()
    assert _options(page) == [str(wanted.pk)] and Document.objects.count() == 1
    response = client.post(f"/{language}/documents/statement/", {**period, "customer": wanted.pk})
    assert response.status_code == 302 and Document.objects.filter(type="statement", customer=wanted).exists()
