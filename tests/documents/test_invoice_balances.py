"""Invoice balances (documents.balances): the credited and allocated sums and the status of each
invoice, kept by triggers in the statement that stores a credit note or a receipt's allocation,
always equal to what the documents themselves say; the list's invoice status filter reads them
by one index range; a text search reads a bounded window per request."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khutwa.documents import balances, money, selectors, services
from khutwa.documents.models import Document, InvoiceBalance
from khutwa.errors import Refused
from tests.documents.conftest import line
from tests.documents.test_document_list_keyset import issue
from tests.documents.test_document_list_plans import plan_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def licence(licence_since_yesterday):
    """The documents below are issued hours ago: the licence is valid from the day before."""
    return licence_since_yesterday


def invoice(holder, customer, price, now=None):
    data = services.DocumentInput(
        type="invoice", customer=customer.pk, lines=[line(quantity="1", unit_price=price)]
    )
    return services.document_issue(actor=holder, data=data, now=now).document


def credit(holder, target, amount):
    data = services.DocumentInput(
        type="credit_note",
        invoice=str(target.public_id),
        reason="Returned",
        lines=[line(quantity="1", unit_price=money.text(amount))],
    )
    return services.document_issue(actor=holder, data=data).document


def receipt(holder, customer, parts):
    data = services.DocumentInput(
        type="receipt",
        customer=customer.pk,
        payment_method="cash",
        payment_amount=money.text(sum((a for _t, a in parts), Decimal("0"))),
        allocations=[(str(t.public_id), money.text(a)) for t, a in parts],
    )
    return services.document_issue(actor=holder, data=data).document


def expected_status(document):
    """The status from the documents, in exact decimals (the meaning of `with_status`)."""
    credited = sum((c.total for c in Document.objects.filter(invoice=document)), Decimal("0"))
    allocated = sum((a.amount for a in document.payments.all()), Decimal("0"))
    if credited >= document.total:
        return "credited"
    if allocated > 0 and allocated >= document.total - credited:
        return "paid"
    return "unpaid"


def statuses_agree(holder):
    mine = selectors.documents_for(holder, type_="invoice")
    today = timezone.localdate()
    by_python = {d.pk: expected_status(d) for d in mine}
    for status in selectors.INVOICE_STATUSES:
        stored = set(selectors.with_status(mine, status, today).values_list("pk", flat=True))
        computed = set(selectors.with_status_computed(mine, status).values_list("pk", flat=True))
        assert stored == computed == {pk for pk, s in by_python.items() if s == status}, status
    assert balances.balances_problems() == []


def test_the_balance_follows_credit_notes_and_receipts_in_their_own_statements(holder, customer):
    first = invoice(holder, customer, "10.000")
    second = invoice(holder, customer, "4.500")
    row = InvoiceBalance.objects.get(invoice=first)
    assert (row.total_fils, row.credited_fils, row.allocated_fils, row.status) == (10000, 0, 0, "unpaid")
    assert row.licence_id == first.licence_id and row.issued_at == first.issued_at
    credit(holder, first, Decimal("3.000"))
    receipt(holder, customer, [(first, Decimal("6.999")), (second, Decimal("4.500"))])
    row.refresh_from_db()
    assert (row.credited_fils, row.allocated_fils, row.status) == (3000, 6999, "unpaid")
    assert InvoiceBalance.objects.get(invoice=second).status == "paid"
    receipt(holder, customer, [(first, Decimal("0.001"))])
    assert InvoiceBalance.objects.get(invoice=first).status == "paid"
    statuses_agree(holder)


def test_a_refused_credit_note_changes_no_balance(holder, customer):
    target = invoice(holder, customer, "5.000")
    credit(holder, target, Decimal("5.000"))
    with pytest.raises(Refused):
        credit(holder, target, Decimal("1.000"))
    row = InvoiceBalance.objects.get(invoice=target)
    assert (row.credited_fils, row.status) == (5000, "credited")


amount = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99.999"), places=3)
step = st.one_of(
    st.tuples(st.just("invoice"), amount, st.just(0)),
    # Amounts whose float sums are not exact (0.1 + 0.2): the stored fils are.
    st.tuples(st.just("invoice"), st.sampled_from([Decimal("0.300"), Decimal("0.600")]), st.just(0)),
    st.tuples(
        st.just("credit"), st.sampled_from([Decimal("0.1"), Decimal("0.5"), Decimal("1")]), st.integers(0, 3)
    ),
    st.tuples(
        st.just("receipt"), st.sampled_from([Decimal("0.1"), Decimal("0.5"), Decimal("1")]), st.integers(0, 3)
    ),
)


class _Rollback(Exception):
    pass


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=9))
def test_stored_status_equals_computed_status_after_any_sequence(holder, customer, steps):
    with pytest.raises(_Rollback), transaction.atomic():
        invoices: list[Document] = []
        for kind, value, which in steps:
            if kind == "invoice":
                invoices.append(invoice(holder, customer, str(value)))
                continue
            if not invoices:
                continue
            target = invoices[which % len(invoices)]
            if kind == "credit":
                part = money.bhd((target.total - services.credited_amount(target)) * value)
                if part > 0:
                    credit(holder, target, part)
            else:
                part = money.bhd(services.outstanding(target) * value)
                if part > 0:
                    receipt(holder, customer, [(target, part)])
        statuses_agree(holder)
        raise _Rollback


def test_the_fill_and_the_check_agree_and_name_a_changed_balance(holder, customer, capsys):
    paid = invoice(holder, customer, "2.000")
    receipt(holder, customer, [(paid, Decimal("2.000"))])
    credited = invoice(holder, customer, "1.000")
    credit(holder, credited, Decimal("1.000"))
    invoice(holder, customer, "7.000")
    InvoiceBalance.objects.all().delete()
    assert len(balances.balances_problems()) == 3
    balances.balances_fill(connection)  # what the migration runs for invoices issued before it
    statuses_agree(holder)
    InvoiceBalance.objects.filter(invoice=paid).update(status="unpaid")
    (problem,) = balances.balances_problems()
    assert f"invoice {paid.pk}:" in problem and "documents say 2000/0/2000 paid" in problem
    with pytest.raises(Exception, match="balance"):
        call_command("documents_verify")
    assert "paid" in capsys.readouterr().out


def test_the_balance_triggers_are_installed():
    assert balances.triggers_missing(connection) == []


def test_an_invoice_status_reads_the_balance_index_from_the_cursor(holder, customer):
    base = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    made = [invoice(holder, customer, "3.000", now=base + dt.timedelta(minutes=k)) for k in range(5)]
    for document in made[1::2]:
        receipt(holder, customer, [(document, Decimal("3.000"))])
    first = selectors.document_page(holder, size=1, status="paid")
    assert [d.pk for d in first] == [made[3].pk]
    with CaptureQueriesContext(connection) as queries:
        deep = selectors.document_page(holder, size=1, status="paid", after=first.next)
    assert [d.pk for d in deep] == [made[1].pk] and deep.next is None
    (sql,) = [q["sql"] for q in queries.captured_queries if "documents_invoicebalance" in q["sql"]]
    plan = plan_of(sql, ordered=True)
    assert "invoice_balance_keyset" in plan, plan
    if connection.vendor == "sqlite":
        assert "TEMP B-TREE" not in plan, plan
    unpaid = selectors.document_page(holder, size=10, status="unpaid")
    assert [d.pk for d in unpaid] == [made[4].pk, made[2].pk, made[0].pk]


# The text filter's bounded window --------------------------------------------------------------


def test_a_text_search_reads_a_bounded_window_and_continues_from_it(holder, customer, monkeypatch):
    from khutwa.documents import services as documents_services

    other = documents_services.customer_create(
        actor=holder, kind="individual", cpr="880404004", name_ar="مريم", name_en="Maryam"
    )
    base = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    made = []
    for k in range(9):
        who = other if k in (0, 1, 6) else customer
        made.append(issue(holder, who, base + dt.timedelta(minutes=k)))
    monkeypatch.setattr(selectors, "SCAN_LIMIT", 3)
    pages, after = [], ""
    while True:
        with CaptureQueriesContext(connection) as queries:
            page = selectors.document_page(holder, size=2, query="Maryam", after=after)
        assert any("LIMIT 3" in q["sql"] for q in queries.captured_queries)
        pages.append(page)
        if page.next is None:
            break
        after = page.next
    found = [d.pk for p in pages for d in p]
    assert found == [made[6].pk, made[1].pk, made[0].pk]
    # Newest first: rows 8, 7, 6 (one match, partial), 5, 4, 3 (none, partial), 2, 1, 0 (two).
    assert [(len(p), p.partial) for p in pages] == [(1, True), (0, True), (2, False)]
    back = selectors.document_page(holder, size=2, query="Maryam", before=pages[2].previous)
    assert back.partial and back.items == [] and back.previous is not None


def test_the_list_page_says_when_a_search_stopped_early(client, holder, customer, monkeypatch):
    base = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    for k in range(4):
        issue(holder, customer, base + dt.timedelta(minutes=k))
    monkeypatch.setattr(selectors, "SCAN_LIMIT", 2)
    client.force_login(holder)
    body = client.get("/en/documents/", {"q": "no such name"}).content.decode()
    assert 'id="search-partial"' in body and 'rel="next"' in body
    assert 'id="search-partial"' not in client.get("/en/documents/").content.decode()


# The list's rows, labelled once per page -------------------------------------------------------


def test_the_list_shows_names_and_dates_in_the_pages_language_without_per_row_lookups(
    client, holder, customer, monkeypatch
):
    from khutwa import display

    made = issue(holder, customer, timezone.now().replace(microsecond=0) - dt.timedelta(hours=1))
    client.force_login(holder)
    arabic = client.get("/ar/documents/").content.decode()
    english = client.get("/en/documents/").content.decode()
    date = f"<bdi>{made.issue_date.isoformat()}</bdi>"
    assert f"<td>يوسف إبراهيم</td><td>{date}</td>" in arabic
    assert f"<td>Yousif Ebrahim</td><td>{date}</td>" in english
    assert f'<option value="{customer.pk}">Yousif Ebrahim</option>' in english
    assert f'<option value="{customer.pk}">يوسف إبراهيم</option>' in arabic
    calls = []
    original = display.get_language

    def counting():
        calls.append(1)
        return original()

    monkeypatch.setattr(display, "get_language", counting)
    client.get("/en/documents/")
    one_row = len(calls)
    for k in range(5):
        issue(holder, customer, timezone.now().replace(microsecond=0) - dt.timedelta(minutes=50 - k))
    calls.clear()
    client.get("/en/documents/")
    assert len(calls) == one_row  # once per page, not once per row
