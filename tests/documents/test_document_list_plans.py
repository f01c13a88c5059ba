"""The holder's list filtered by type or by a quotation's status reads one range of the index
(licence, type, issued_at, id) in list order: a rare type deep in a big list is not found by
walking every document of the licence. Checked in the plans of both engines."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from khutwa.documents import selectors
from khutwa.documents.models import Document, DocumentType
from tests.documents.test_document_list_keyset import issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def licence(licence_since_yesterday):
    """The documents below are issued hours ago: the licence is valid from the day before."""
    return licence_since_yesterday


#: What a keyset page's plan is read with on PostgreSQL (plan_of's docstring says why).
ORDERED_PLAN_OFF = ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort")


def plan_of(sql, *, ordered=False):
    """The statement's plan (PostgreSQL: sequential scans off). `ordered`: a keyset page's
    statement, planned with bitmap scans and sorts (incremental ones too) off: on the tests' few
    rows a bitmap scan of any index, or a range of the leading column's index, with a sort after
    it costs about what the ordered index range does, and with the statistics earlier tests or
    autovacuum left the planner took one or the other from run to run (a plan that needs no sort
    is what a list page reads at volume)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return " ".join(str(row) for row in cursor.fetchall())
        off = ORDERED_PLAN_OFF if ordered else ("enable_seqscan",)
        for setting in off:
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql)
        return " ".join(row[0] for row in cursor.fetchall())


def list_sql(user, **filters):
    with CaptureQueriesContext(connection) as queries:
        page = selectors.document_page(user, size=2, **filters)
    (sql,) = [q["sql"] for q in queries.captured_queries if "documents_document" in q["sql"]]
    return page, sql


@pytest.fixture
def mixed(holder, customer):
    base = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    invoices = [issue(holder, customer, base + dt.timedelta(minutes=k)) for k in range(4)]
    quotation = issue(holder, customer, base + dt.timedelta(minutes=1, seconds=30), DocumentType.QUOTATION)
    return invoices, quotation


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"type_": DocumentType.QUOTATION}, "document_licence_type_keyset"),
        ({"status": "awaiting"}, "document_licence_type_keyset"),
        # An invoice status: the stored balances' index (documents.balances).
        ({"status": "unpaid"}, "invoice_balance_keyset"),
        ({"type_": "invoice"}, "document_licence_type_keyset"),
    ],
)
def test_a_type_or_status_filter_reads_the_type_index(holder, mixed, filters, index):
    page, sql = list_sql(holder, **filters)
    assert page.items
    plan = plan_of(sql, ordered=True)
    assert index in plan, plan


def test_a_deep_page_of_one_type_reads_the_type_index_from_the_cursor(holder, mixed):
    invoices, quotation = mixed
    first = selectors.document_page(holder, size=2, type_=DocumentType.INVOICE)
    with CaptureQueriesContext(connection) as queries:
        deep = selectors.document_page(holder, size=2, type_=DocumentType.INVOICE, after=first.next)
    (sql,) = [q["sql"] for q in queries.captured_queries if "documents_document" in q["sql"]]
    assert [d.pk for d in deep] == [invoices[1].pk, invoices[0].pk]
    assert "document_licence_type_keyset" in plan_of(sql, ordered=True)
    awaiting = selectors.document_page(holder, size=2, status="awaiting")
    assert [d.pk for d in awaiting] == [quotation.pk]


def test_the_list_page_labels_rows_without_per_row_lookups(client, holder, mixed, monkeypatch):
    invoices, quotation = mixed
    client.force_login(holder)
    client.get("/en/documents/")
    calls = []
    original = Document._get_FIELD_display

    def counting(self, field):
        calls.append(field.name)
        return original(self, field)

    monkeypatch.setattr(Document, "_get_FIELD_display", counting)
    with CaptureQueriesContext(connection) as few:
        body = client.get("/en/documents/").content.decode()
    assert calls == []
    assert (
        f'<a href="/en/documents/{quotation.public_id}/"><bdi>{quotation.number}</bdi></a></td><td>Quotation<'
        in body
    )
    first = invoices[0]
    assert (
        f'<a href="/en/documents/{first.public_id}/"><bdi>{first.number}</bdi></a></td><td>Invoice<' in body
    )
    arabic = client.get("/ar/documents/").content.decode()
    assert f'href="/ar/documents/{quotation.public_id}/"' in arabic and "تسعيرة" in arabic
    issue(holder, invoices[0].customer, timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5))
    with CaptureQueriesContext(connection) as more:
        client.get("/en/documents/")
    assert len(more.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize(
    ("filters", "columns"),
    [
        ({}, "issued_at, id"),
        ({"type_": DocumentType.INVOICE}, "issued_at, id"),
        ({"status": "unpaid"}, "issued_at, invoice_id"),
    ],
)
@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_deep_page_starts_its_index_range_at_the_cursor(holder, customer, filters, columns, direction):
    """PostgreSQL: (issued_at, id) beyond the cursor is one row comparison in the index condition;
    as an OR it was a filter, and a page 8,000 documents down read all 8,000 (17 ms)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's plan of the OR reads from the cursor already")
    # Issued within the last minute (the licence is valid from today, local time).
    base = timezone.now().replace(microsecond=0) - dt.timedelta(seconds=40)
    invoices = [issue(holder, customer, base + dt.timedelta(seconds=10 * k)) for k in range(4)]
    cursor = selectors.Position.of(invoices[2 if direction == "after" else 1]).encode()

    page, sql = list_sql(holder, **filters, **{direction: cursor})

    expected = invoices[1::-1] if direction == "after" else invoices[:1:-1]
    assert [d.pk for d in page] == [d.pk for d in expected]
    sign = "<" if direction == "after" else ">"
    plan = plan_of(sql, ordered=True)
    index_conditions = [line for line in plan.split("  ") if "Index Cond" in line]
    assert any(f"ROW({columns}) {sign} ROW(" in line for line in index_conditions), plan
