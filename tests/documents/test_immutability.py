"""Rows of issued documents cannot change: the ORM refuses (default and base managers, instances)
and so does the database (triggers on SQLite and PostgreSQL), while issuing keeps working."""

import re

import pytest
from django.db import DatabaseError, connection, transaction

from khutwa.documents import services
from khutwa.documents.models import (
    Allocation,
    Document,
    DocumentCounter,
    DocumentLine,
    ImmutableError,
    QuotationResponse,
    RenderedFile,
)
from khutwa.documents.pdf import document_pdf
from khutwa.documents.triggers import triggers_missing, triggers_resume, triggers_suspend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _triggers_on():
    """On, whatever an earlier transactional test left (rolled back with this test)."""
    triggers_resume(connection)


@pytest.fixture
def rows(issue, holder, world):
    """One row of each guarded kind."""
    from tests.licensing.factories import applicant

    quotation = issue("quotation")
    services.quotation_respond(actor=applicant(cpr="870303003"), quotation=quotation, accept=True)
    note = issue("delivery_note")
    invoice = issue("invoice", delivery_notes=[str(note.public_id)])
    issue("receipt", payment_method="cash", payment_amount="5", allocations=[(str(invoice.public_id), "5")])
    document_pdf(invoice)
    return {
        Document: Document.objects.get(pk=invoice.pk),
        DocumentLine: DocumentLine.objects.filter(document=invoice).first(),
        Allocation: Allocation.objects.get(invoice=invoice),
        DocumentCounter: DocumentCounter.objects.get(licence=invoice.licence, type="chain"),
        QuotationResponse: QuotationResponse.objects.get(quotation=quotation),
        RenderedFile: RenderedFile.objects.get(document=invoice),
    }


GUARDED = [Document, DocumentLine, Allocation, DocumentCounter, QuotationResponse, RenderedFile]


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_the_orm_refuses_to_change_or_delete(rows, model):
    row = rows[model]
    field = "id"
    for attempt in (
        row.save,
        row.delete,
        lambda: model.objects.filter(pk=row.pk).update(**{field: row.pk}),
        lambda: model.objects.filter(pk=row.pk).delete(),
        lambda: model.objects.bulk_update([row], [field]),
        # The base manager (related lookups, Model.save's UPDATE) refuses too.
        lambda: model._base_manager.filter(pk=row.pk).update(**{field: row.pk}),
        lambda: model._base_manager.filter(pk=row.pk).delete(),
    ):
        with pytest.raises(ImmutableError):
            attempt()
    assert model._meta.base_manager_name == "objects"
    assert model.objects.filter(pk=row.pk).exists()


RAW = [
    "UPDATE documents_document SET total = 0",
    "DELETE FROM documents_document",
    "UPDATE documents_documentline SET net = 0",
    "DELETE FROM documents_documentline",
    "UPDATE documents_allocation SET amount = 0",
    "DELETE FROM documents_allocation",
    "UPDATE documents_document_delivery_notes SET to_document_id = from_document_id",
    "DELETE FROM documents_document_delivery_notes",
    "UPDATE documents_quotationresponse SET answer = 'declined'",
    "DELETE FROM documents_quotationresponse",
    "UPDATE documents_renderedfile SET sha256 = ''",
    "DELETE FROM documents_renderedfile",
    "DELETE FROM documents_documentcounter",
    "UPDATE documents_documentcounter SET last = last - 1",
    "UPDATE documents_documentcounter SET year = year + 1",
    "UPDATE documents_documentcounter SET type = 'receipt' WHERE type = 'chain'",
    "UPDATE documents_documentcounter SET licence_id = licence_id + 1",
    "UPDATE documents_documentcounter SET last_hash = 'forged' WHERE type = 'chain'",
    # a hash that is a document's, but not the last one's
    "UPDATE documents_documentcounter SET last_hash = "
    "(SELECT hash FROM documents_document WHERE counter = 1) WHERE type = 'chain'",
    # a row other than the chain's never carries a hash
    "UPDATE documents_documentcounter SET last_hash = "
    "(SELECT hash FROM documents_document ORDER BY counter DESC LIMIT 1) WHERE type = 'invoice'",
]


@pytest.mark.parametrize("sql", RAW)
def test_the_database_refuses_raw_changes(rows, sql):
    table = re.search(r"(?:UPDATE|FROM) (\w+)", sql).group(1)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - a constant
        (before,) = cursor.fetchone()
    assert before > 0
    with (
        pytest.raises(DatabaseError, match=r"immutable|counters"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert Document.objects.get(pk=rows[Document].pk).total == rows[Document].total
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - a constant
        assert cursor.fetchone() == (before,)


@pytest.mark.parametrize(
    "table", ["documents_document", "documents_documentline", "documents_documentcounter"]
)
def test_a_whole_table_cannot_be_emptied(rows, table):
    """PostgreSQL: TRUNCATE (a statement trigger); SQLite, which has no TRUNCATE: an unqualified
    DELETE, which it would otherwise run as a truncation."""
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks
            cursor.execute(f"TRUNCATE {table} CASCADE")
        else:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - a constant
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - a constant
        assert cursor.fetchone()[0] > 0


def test_what_issuing_does_to_counters_is_allowed(rows, issue, licence):
    """Raising `last` and the turnover, and recording the last document's hash."""
    chain = DocumentCounter.objects.get(licence=licence, type="chain")
    last = Document.objects.get(licence=licence, counter=chain.last)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE documents_documentcounter SET turnover_fils = turnover_fils + 1 WHERE type = 'invoice'"
        )
        cursor.execute(
            "UPDATE documents_documentcounter SET last_hash = %s WHERE id = %s", [last.hash, chain.pk]
        )
    after = issue("invoice")
    assert after.counter == chain.last + 1
    assert DocumentCounter.objects.get(pk=chain.pk).last_hash == after.hash


def test_triggers_can_be_listed_suspended_and_resumed(rows):
    assert triggers_missing(connection) == []
    triggers_suspend(connection)
    assert len(triggers_missing(connection)) >= 12
    with connection.cursor() as cursor:  # what the database owner could do
        cursor.execute("UPDATE documents_document SET total = 0 WHERE id = %s", [rows[Document].pk])
    triggers_resume(connection)
    assert triggers_missing(connection) == []
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE documents_document SET total = 1 WHERE id = %s", [rows[Document].pk])
