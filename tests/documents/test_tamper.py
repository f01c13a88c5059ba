"""Someone with the database owner's password switches the triggers off and edits rows behind
the application: the verification page, the API and `khutwa documents-verify` report each edit
(the payload is sealed; the rows must say what it says)."""

import html
import io
import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from khutwa.documents import services
from khutwa.documents.models import Document
from khutwa.documents.pdf import document_pdf
from khutwa.documents.statements import statement_issue
from khutwa.documents.triggers import triggers_resume, triggers_suspend
from khutwa.documents.verification import document_verify, pdf_verify
from tests.documents.conftest import line

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    triggers_resume(connection)  # on, whatever an earlier transactional test left
    cache.clear()  # the public API's rate limit


@pytest.fixture
def chain(issue, holder, customer):
    """One document of every type, in this order, for one licence (counters 1 to 8)."""
    today = timezone.localdate()
    quotation = issue("quotation", lines=[line(), line(description="Dessert tray", unit_price="3.250")])
    note = issue("delivery_note")
    invoice = issue("invoice", quotation=str(quotation.public_id), delivery_notes=[str(note.public_id)])
    second = issue("invoice", lines=[line(quantity="3")])
    receipt = issue(
        "receipt", payment_method="cash", payment_amount="20", allocations=[(str(invoice.public_id), "11")]
    )
    credit = issue(
        "credit_note", invoice=str(second.public_id), reason="Returned", lines=[line(unit_price="1")]
    )
    statement = statement_issue(actor=holder, customer_id=customer.pk, start=today, end=today).document
    last = issue("invoice")
    return {
        "quotation": quotation,
        "note": note,
        "invoice": invoice,
        "second": second,
        "receipt": receipt,
        "credit": credit,
        "statement": statement,
        "last": last,
    }


def tamper(sql: str, params: list) -> None:
    """What the database owner could do behind the application."""
    triggers_suspend(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def walk() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("documents_verify", stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def page_and_api_report(client, document: Document, needle: str) -> None:
    page = client.get(f"/en/verify/{document.public_id}")
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert 'data-valid="false"' in text
    assert needle in text, needle
    data = client.get(f"/api/v1/verify/{document.public_id}").json()
    assert data["valid"] is False
    assert any(needle in reason for reason in data["reasons"]), data["reasons"]


def test_an_untampered_chain_verifies_clean(client, chain, licence):
    for document in chain.values():
        result = document_verify(document)
        assert result.valid, (document.number, result.reasons)
        assert client.get(f"/api/v1/verify/{document.public_id}").json()["valid"] is True
    code, out = walk()
    assert code == 0, out
    assert "documents intact: 8 documents of 1 licences checked" in out
    assert pdf_verify(document_pdf(chain["invoice"])).valid  # the upload path too


def test_split_invoices_verify_clean(holder, customer):
    first, second = services.invoice_split(
        actor=holder,
        data=services.DocumentInput(
            type="invoice", customer=customer.pk, lines=[line()], tamkeen_application_number="TMK-2026-000001"
        ),
        tamkeen_rate=Decimal("0.7"),
    )
    assert document_verify(first.document).valid and document_verify(second.document).valid
    assert walk()[0] == 0


def test_a_changed_total_is_reported(client, chain, licence):
    invoice = chain["invoice"]
    pdf = document_pdf(invoice)
    tamper("UPDATE documents_document SET total = 99 WHERE id = %s", [invoice.pk])
    needle = "the stored total (99.000) differs from the sealed total (11.000)"
    page_and_api_report(client, invoice, needle)
    uploaded = pdf_verify(pdf)  # the PDF is intact; the record behind it is not
    assert not uploaded.valid and needle in uploaded.reasons
    code, out = walk()
    assert code == 1
    assert f"{licence.number}: {invoice.number} (counter {invoice.counter}): the stored total" in out


def test_a_changed_type_is_reported(client, chain, licence):
    invoice = chain["second"]
    tamper("UPDATE documents_document SET type = 'quotation' WHERE id = %s", [invoice.pk])
    page_and_api_report(client, invoice, "the stored type (quotation) differs from the sealed type (invoice)")
    code, out = walk()
    assert code == 1 and f"{licence.number}: {invoice.number} (counter {invoice.counter})" in out


def test_a_changed_customer_is_reported(client, chain, holder, licence):
    other = services.customer_create(actor=holder, kind="business", cr_number="12345-1", name_en="Another")
    invoice = chain["invoice"]
    tamper("UPDATE documents_document SET customer_id = %s WHERE id = %s", [other.pk, invoice.pk])
    page_and_api_report(client, invoice, "the stored customer differs from the sealed customer")
    page = client.get(f"/en/verify/{invoice.public_id}").content.decode()
    assert "870303003" not in page and "12345-1" not in page  # no identifiers on the public page
    code, out = walk()
    assert code == 1 and f"{invoice.number} (counter {invoice.counter}): the stored customer" in out


def test_a_changed_line_amount_is_reported(client, chain, licence):
    quotation = chain["quotation"]
    tamper(
        "UPDATE documents_documentline SET net = 1 WHERE document_id = %s AND position = 2", [quotation.pk]
    )
    page_and_api_report(
        client, quotation, "line 2: the stored net amount (1.000) differs from the sealed net amount (6.500)"
    )
    code, out = walk()
    assert code == 1 and f"{quotation.number} (counter 1): line 2: the stored net amount" in out


def test_a_deleted_line_is_reported(client, chain, licence):
    quotation = chain["quotation"]
    tamper("DELETE FROM documents_documentline WHERE document_id = %s AND position = 2", [quotation.pk])
    page_and_api_report(client, quotation, "line 2 is sealed but not stored (a deleted line)")
    code, out = walk()
    assert (
        code == 1
        and f"{quotation.number} (counter 1): the number of lines differs: 1 stored, 2 sealed" in out
    )


def test_a_changed_allocation_is_reported(client, chain, licence):
    receipt = chain["receipt"]
    tamper("UPDATE documents_allocation SET amount = 20 WHERE receipt_id = %s", [receipt.pk])
    needle = f"the stored allocation to invoice {chain['invoice'].number} (20.000)"
    page_and_api_report(client, receipt, needle)
    code, out = walk()
    assert code == 1 and f"{receipt.number} (counter {receipt.counter}): {needle}" in out


def test_changed_links_between_documents_are_named_by_the_walk(chain):
    invoice, credit = chain["invoice"], chain["credit"]
    tamper("DELETE FROM documents_document_delivery_notes WHERE from_document_id = %s", [invoice.pk])
    code, out = walk()
    assert code == 1 and f"{invoice.number} (counter 3): the stored delivery-note list (none) differs" in out
    tamper("UPDATE documents_document SET invoice_id = %s WHERE id = %s", [invoice.pk, credit.pk])
    tamper(
        "INSERT INTO documents_document_delivery_notes (from_document_id, to_document_id) VALUES (%s, %s)",
        [invoice.pk, chain["note"].pk],
    )
    code, out = walk()
    assert (
        code == 1 and f"{credit.number} (counter 6): the stored corrected invoice ({invoice.number})" in out
    )


def test_a_deleted_last_document_is_reported(client, chain, licence):
    last, before = chain["last"], chain["statement"]
    tamper("DELETE FROM documents_documentline WHERE document_id = %s", [last.pk])
    tamper("DELETE FROM documents_document WHERE id = %s", [last.pk])
    assert client.get(f"/en/verify/{last.public_id}").status_code == 404
    needle = f"the licence's last document (counter {last.counter}) is missing: it was deleted"
    page_and_api_report(client, before, needle)
    page_and_api_report(
        client, before, f"the next document of this licence's chain (counter {last.counter}) is missing"
    )
    page_and_api_report(client, chain["quotation"], needle)  # any document of the licence says so
    code, out = walk()
    assert code == 1
    assert f"{licence.number}: {last.number} (counter {last.counter}): {needle}" in out


def test_swapped_counters_are_reported(client, chain, licence):
    a, b = chain["second"], chain["receipt"]  # counters 4 and 5
    tamper("UPDATE documents_document SET counter = 0 WHERE id = %s", [a.pk])
    tamper("UPDATE documents_document SET counter = %s WHERE id = %s", [a.counter, b.pk])
    tamper("UPDATE documents_document SET counter = %s WHERE id = %s", [b.counter, a.pk])
    page_and_api_report(
        client, a, f"the stored counter ({b.counter}) differs from the sealed counter ({a.counter})"
    )
    page_and_api_report(
        client, b, f"the stored counter ({a.counter}) differs from the sealed counter ({b.counter})"
    )
    code, out = walk()
    assert code == 1
    assert f"{licence.number}: {b.number} (counter {a.counter}): the stored counter" in out


def test_a_changed_previous_hash_is_reported(client, chain, licence):
    invoice = chain["invoice"]
    tamper("UPDATE documents_document SET previous_hash = %s WHERE id = %s", ["f" * 64, invoice.pk])
    page_and_api_report(client, invoice, "the stored previous hash (ffff")
    code, out = walk()
    assert code == 1 and f"{invoice.number} (counter {invoice.counter}): the stored previous hash" in out


def test_a_changed_payload_is_named_by_the_walk(chain, licence):
    note = chain["note"]
    tamper(
        "UPDATE documents_document SET payload = %s WHERE id = %s",
        [json.dumps({**note.payload, "reason": "forged"}), note.pk],
    )
    code, out = walk()
    assert code == 1 and f"{note.number} (counter 2): payload hash differs from the sealed hash" in out


def test_a_moved_counter_row_is_named(chain, licence):
    tamper(
        "UPDATE documents_documentcounter SET last = last + 1 WHERE licence_id = %s AND type = 'invoice'",
        [licence.pk],
    )
    code, out = walk()
    year = timezone.localdate().year
    assert code == 1
    assert f"INV-{year}-000004" in out and f"the invoice counter of {year} is at 4 but 3 are stored" in out


def test_the_walk_is_limited_to_one_licence(chain, licence, world):
    out = io.StringIO()
    call_command("documents_verify", "--licence", licence.number, stdout=out)
    assert "8 documents of 1 licences" in out.getvalue()
    with pytest.raises(CommandError) as exc:
        call_command("documents_verify", "--licence", "KH-0000-000000", stdout=io.StringIO())
    assert exc.value.returncode == 2


def test_the_walk_reads_in_batches(chain, licence, monkeypatch):
    from khutwa.documents import chains

    monkeypatch.setattr(chains, "BATCH", 3)
    assert walk() == (0, "documents intact: 8 documents of 1 licences checked\n")
    tamper("UPDATE documents_document SET total = 1 WHERE id = %s", [chain["credit"].pk])
    code, out = walk()
    assert code == 1 and f"{chain['credit'].number} (counter 6)" in out


def test_a_deleted_document_inside_the_chain_is_reported(client, chain, licence):
    before, gone, after = chain["note"], chain["invoice"], chain["second"]  # counters 2, 3, 4
    tamper("DELETE FROM documents_documentline WHERE document_id = %s", [gone.pk])
    tamper("DELETE FROM documents_allocation WHERE invoice_id = %s", [gone.pk])
    tamper("DELETE FROM documents_document_delivery_notes WHERE from_document_id = %s", [gone.pk])
    tamper("DELETE FROM documents_document WHERE id = %s", [gone.pk])
    page_and_api_report(client, before, "the next document of this licence's chain (counter 3) is missing")
    page_and_api_report(
        client, after, "the previous document of this licence's chain is missing or was altered"
    )
    code, out = walk()
    assert code == 1
    assert (
        f"{licence.number}: {after.number} (counter 4): counter 3 is missing (a gap after counter 2)" in out
    )
