"""Issuing stays cheap (issue 13): the licence's scope in one statement, the lines in one INSERT,
the audit chain's place in one UPDATE … RETURNING. The query count cannot creep back up."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Model
from django.db.transaction import TransactionManagementError

from khutwa import prebuilt
from khutwa.accounts.models import User
from khutwa.audit.models import AuditHead
from khutwa.documents import services
from khutwa.documents.models import Customer, Document
from khutwa.documents.scope import latest_licence_with_scope
from khutwa.licensing.models import Licence
from tests.documents.conftest import line

pytestmark = pytest.mark.django_db

#: A 5-line invoice, inside the test's transaction (so 2 of these are its SAVEPOINT/RELEASE):
#: scope with the customer (and whether a webhook subscription may want it: none here, so the
#: webhooks are not queried), counters UPDATE … RETURNING, document INSERT, the transparency
#: log's outbox row (one INSERT: the Merkle work is the sequencer's), audit UPDATE … RETURNING;
#: then the writes that only refer to the document: audit event INSERT, audit head hash, chain
#: head, lines INSERT and the PDF task's row, one statement each on SQLite and all one statement
#: on PostgreSQL (`khutwa.prebuilt.together`).
ISSUE_QUERIES = {"sqlite": 12, "postgresql": 8}


def test_issuing_a_five_line_invoice_takes_a_bounded_number_of_queries(issue, django_assert_max_num_queries):
    issue("invoice")  # the first creates the counter and audit head rows
    with django_assert_max_num_queries(ISSUE_QUERIES[connection.vendor]):
        document = issue("invoice", lines=[line(description=f"Item {n}") for n in range(5)])
    assert document.lines.count() == 5


def _values(obj: Model) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_the_scope_statement_returns_what_the_orm_returns(licence, holder, customer):
    scoped, found = latest_licence_with_scope(holder.pk, customer.pk)
    assert _values(found) == _values(Customer.objects.get(pk=customer.pk))
    orm = Licence.objects.select_related("tier", "governorate").get(pk=licence.pk)
    assert _values(scoped) == _values(orm)
    assert _values(scoped.tier) == _values(orm.tier)
    assert _values(scoped.governorate) == _values(orm.governorate)
    assert [_values(a) for a in scoped.activities.all()] == [_values(a) for a in orm.activities.all()]
    assert {a.code for a in scoped.activities.all()} == {"home-meals", "sewing-abayas"}


def test_the_scope_is_the_latest_licence_and_none_without_one(world, licence, holder, registrar):
    assert latest_licence_with_scope(registrar.pk) == (None, None)
    assert latest_licence_with_scope(holder.pk)[0].pk == licence.pk


@pytest.mark.parametrize("wrong", ["others", 0, -1, 2**63, 10**30, None])
def test_a_customer_not_the_holders_is_not_found(licence, holder, customer, wrong):
    other = services.customer_create(
        actor=User.objects.exclude(pk=holder.pk).first(),
        kind="individual",
        cpr="870303003",
        name_en="Someone else's",
    )
    scoped, found = latest_licence_with_scope(holder.pk, other.pk if wrong == "others" else wrong)
    assert scoped.pk == licence.pk and found is None


def test_issuing_to_another_holders_customer_is_refused_naming_the_field(issue, holder):
    other = services.customer_create(
        actor=User.objects.exclude(pk=holder.pk).first(),
        kind="individual",
        cpr="870303003",
        name_en="Someone else's",
    )
    with pytest.raises(ValidationError) as refused:
        issue("invoice", customer=other.pk)
    assert "customer" in refused.value.message_dict
    assert not Document.objects.exists()


def test_the_issuing_statements_skip_djangos_cursor_wrapper_when_nobody_watches(issue, monkeypatch):
    """`prebuilt.run` hands the statements to the driver's cursor: only the test transaction's
    SAVEPOINT and RELEASE (Django's own `atomic`) open a Django cursor."""
    issue("invoice")  # the first creates the counter and audit head rows (through the ORM)
    db = connections[DEFAULT_DB_ALIAS]
    assert not db.queries_logged
    opened = []
    real = db.cursor

    def counted():
        opened.append(1)
        return real()

    monkeypatch.setattr(db, "cursor", counted)
    document = issue("invoice", lines=[line(description=f"Item {n}") for n in range(5)])
    assert len(opened) <= 2
    assert document.lines.count() == 5
    assert Document.objects.get(pk=document.pk).hash == document.hash


def test_a_statement_refused_by_the_database_raises_djangos_error(issue):
    issue("invoice")
    table = AuditHead._meta.db_table
    chain = AuditHead.objects.values_list("chain", flat=True).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        prebuilt.run(
            f"INSERT INTO {table} (chain, last_seq, last_hash, anchored_seq) VALUES (%s, 0, '', 0)",  # noqa: S608
            [chain],
        )


def test_a_broken_transaction_is_refused_before_any_statement(issue):
    issue("invoice")
    with pytest.raises(TransactionManagementError), transaction.atomic():
        transaction.set_rollback(True)
        prebuilt.run("SELECT 1", [])
