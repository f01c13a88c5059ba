"""The document table's indexes (issue 13: each one costs on every INSERT of issuing): none is
a copy of the start of another, the links that few documents have are indexed where set only and
their lookups still read those indexes, and the stored payload is the canonical JSON its seal
hashed (encoded once). Checked on both engines."""

import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from khutwa.documents import services
from khutwa.documents.models import Document, DocumentLine, DocumentType
from khutwa.trust.canonical import canonical_json
from tests.documents.test_document_list_keyset import issue
from tests.documents.test_document_list_plans import plan_of

pytestmark = pytest.mark.django_db

TABLE = Document._meta.db_table


def indexes(table=TABLE):
    """name → (columns, unique, partial) of every index and unique constraint of the table."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE tbl_name = %s AND sql LIKE '%%WHERE%%'", [table]
            )
        else:
            cursor.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass "
                "AND indpred IS NOT NULL",
                [table],
            )
        partial = {row[0] for row in cursor.fetchall()}
    return {
        name: (tuple(info["columns"]), bool(info["unique"]), name in partial)
        for name, info in found.items()
        if (info["index"] or info["unique"]) and not info["primary_key"] and info["columns"]
    }


@pytest.mark.parametrize("table", [TABLE, DocumentLine._meta.db_table])
def test_no_index_is_the_start_of_another(table):
    found = indexes(table)
    for name, (columns, unique, partial) in found.items():
        if unique or partial:
            continue
        longer = [
            other
            for other, (more, _unique, other_partial) in found.items()
            if other != name and not other_partial and more[: len(columns)] == columns and more != columns
        ]
        assert not longer, f"{name} {columns} is the start of {longer}"


def test_the_links_few_documents_have_are_indexed_where_set_only():
    by_columns = {columns: (name, partial) for name, (columns, _u, partial) in indexes().items()}
    for column in ("quotation_id", "invoice_id", "split_group"):
        name, partial = by_columns[(column,)]
        assert partial, f"{name} indexes every document, not only those with {column}"
    assert ("licence_id",) not in by_columns
    assert ("customer_id",) not in by_columns
    if connection.vendor == "postgresql":  # Django's LIKE copies of type and hash: no query uses them
        assert not [name for name in indexes() if name.endswith("_like")]


def _sql(queryset):
    """The statement as run (parameters inlined), for EXPLAIN."""
    with CaptureQueriesContext(connection) as queries:
        list(queryset)
    (query,) = queries.captured_queries
    return query["sql"]


@pytest.fixture
def linked(holder, customer):
    quotation = issue(holder, customer, None, DocumentType.QUOTATION)
    invoice = services.quotation_to_invoice(actor=holder, quotation=quotation).document
    return quotation, invoice


def test_the_lookups_by_quotation_invoice_and_split_group_read_their_partial_indexes(linked):
    quotation, invoice = linked
    assert Document.objects.filter(quotation=quotation).get() == invoice
    cases = [
        (Document.objects.filter(quotation=quotation, type=DocumentType.INVOICE), "document_quotation_set"),
        (Document.objects.filter(invoice=invoice), "document_invoice_set"),
        (Document.objects.filter(invoice__in=Document.objects.filter(pk=invoice.pk)), "document_invoice_set"),
        (Document.objects.filter(split_group=quotation.public_id), "document_split_group_set"),
    ]
    for queryset, index in cases:
        # Without the model's ordering: on these few rows a backward scan of the issue-time index
        # filtered by the link cost about what the partial index and a sort do, and the planner
        # took either from run to run; what is tested is the lookup's own index.
        plan = plan_of(_sql(queryset.order_by()))
        assert index in plan, plan


def test_the_stored_payload_is_the_canonical_json_its_seal_hashed(holder, customer):
    document = issue(holder, customer, None)
    stored = Document.objects.get(pk=document.pk)
    assert stored.payload == document.payload
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT payload FROM {TABLE} WHERE id = %s", [document.pk])  # noqa: S608
        (raw,) = cursor.fetchone()
    if connection.vendor == "sqlite":  # the text itself: PostgreSQL's jsonb keeps no text
        assert raw == canonical_json(document.payload).decode()
        assert hashlib.sha256(raw.encode()).hexdigest() == document.hash
        assert "\\u" not in raw  # Arabic stored as itself, not escaped
    else:  # jsonb, read as its text by Django's driver set-up
        assert json.loads(raw) == document.payload
    assert json.loads(canonical_json(stored.payload)) == document.payload
