"""The log's rows cannot change: database triggers on SQLite and PostgreSQL refuse an UPDATE or
DELETE of entries, subtrees, checkpoints and cosignatures, through the ORM and through raw SQL,
while the sequencer keeps appending (and emptying its outbox)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from khutwa.tlog import services
from khutwa.tlog.models import Checkpoint, Cosignature, Entry, Node, Pending
from khutwa.tlog.triggers import TABLES, triggers_missing, triggers_resume, triggers_suspend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _triggers_on():
    """On, whatever an earlier transactional test left (rolled back with this test)."""
    triggers_resume(connection)


@pytest.fixture
def rows(issue, licence) -> dict[type[Model], Model]:  # type: ignore[no-untyped-def]
    """One row of each guarded kind, written the way the application writes them."""
    issue("invoice")
    services.sequence_all()
    first = Checkpoint.objects.latest()
    for _ in range(2):
        issue("invoice")
    services.sequence_all()
    cosignature = Cosignature.objects.create(
        checkpoint=Checkpoint.objects.latest(),
        witness="ministry.example/witness",
        key_id="0a0b0c0d",
        timestamp=1,
        line="— ministry.example/witness AAAA\n",
        received_at=timezone.now(),
    )
    return {
        Entry: Entry.objects.order_by("index").first(),
        Node: Node.objects.order_by("level", "index").first(),
        Checkpoint: first,  # no cosignature protects it: the database is what refuses
        Cosignature: cosignature,
    }


def _refused():  # type: ignore[no-untyped-def]
    """Refused by the database, and rolled back."""
    return pytest.raises(DatabaseError, match="append-only")


def _refused_orm(model: type[Model], pk: int, change: dict[str, object]) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        model.objects.filter(pk=pk).update(**change)  # type: ignore[attr-defined]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        model.objects.filter(pk=pk).delete()  # type: ignore[attr-defined]


CHANGES: dict[type[Model], tuple[dict[str, object], str]] = {
    Entry: ({"entry": "khutwa-document/v1\nforged\n"}, "entry = 'forged'"),
    Node: ({"hash": "0" * 64}, "hash = '" + "0" * 64 + "'"),
    Checkpoint: ({"root_hash": "0" * 64}, "root_hash = '" + "0" * 64 + "'"),
    Cosignature: ({"line": "forged"}, "line = 'forged'"),
}


@pytest.mark.parametrize("model", [Entry, Node, Checkpoint, Cosignature], ids=lambda m: m.__name__)
def test_update_and_delete_are_refused_through_the_orm(rows, model) -> None:  # type: ignore[no-untyped-def]
    row = rows[model]
    before = model.objects.values().get(pk=row.pk)
    _refused_orm(model, row.pk, CHANGES[model][0])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        row.delete()
    assert model.objects.values().get(pk=row.pk) == before


@pytest.mark.parametrize("model", [Entry, Node, Checkpoint, Cosignature], ids=lambda m: m.__name__)
def test_update_and_delete_are_refused_through_raw_sql(rows, model) -> None:  # type: ignore[no-untyped-def]
    row, table = rows[model], model._meta.db_table
    count = model.objects.count()
    before = model.objects.values().get(pk=row.pk)
    with _refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {CHANGES[model][1]} WHERE id = %s", [row.pk])  # noqa: S608
    with _refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    assert model.objects.count() == count
    assert model.objects.values().get(pk=row.pk) == before


def test_truncate_is_refused_on_postgresql(rows) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        assert connection.vendor == "sqlite"  # SQLite has no TRUNCATE: DELETE is refused above
        return
    for table in TABLES:
        with _refused(), transaction.atomic(), connection.cursor() as c:
            c.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own inserts, checked first
            c.execute(f"TRUNCATE {table} CASCADE")
    assert Entry.objects.count() == Checkpoint.objects.latest().size


def test_the_sequencer_appends_and_empties_its_outbox_with_the_triggers_on(issue, licence) -> None:  # type: ignore[no-untyped-def]
    issue("invoice")
    assert Pending.objects.exists()
    done = services.sequence()
    assert done is not None and done.appended >= 1
    assert Pending.objects.count() == 0
    with transaction.atomic(), connection.cursor() as cursor:  # the outbox is not guarded
        cursor.execute("DELETE FROM tlog_pending")
    issue("invoice")
    assert services.sequence_all() >= 1
    assert Checkpoint.objects.latest().size == Entry.objects.count()


def test_triggers_can_be_listed_suspended_and_resumed(rows) -> None:  # type: ignore[no-untyped-def]
    assert triggers_missing(connection) == []
    triggers_suspend(connection)
    assert len(triggers_missing(connection)) >= len(TABLES) * 2
    with connection.cursor() as cursor:  # what the database owner could do
        cursor.execute("UPDATE tlog_entry SET entry = 'x' WHERE id = %s", [rows[Entry].pk])
    triggers_resume(connection)
    assert triggers_missing(connection) == []
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE tlog_entry SET entry = 'y' WHERE id = %s", [rows[Entry].pk])
