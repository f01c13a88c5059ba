"""The migration that partitions the audit log keeps the events written before it verifiable as
they were sealed (the legacy chain `global`, seq = id), and new events follow in their chains."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from khutwa.audit.hashing import event_hash

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("audit", "0002_append_only_triggers")
GENESIS = "0" * 64


def _old_fields(pk: int, at: dt.datetime, n: int) -> dict:
    """What an event's hash covered before the partitioning (its id, no chain)."""
    return {
        "id": pk,
        "occurred_at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": None,
        "actor_username": "",
        "action": "test.legacy",
        "object_type": "",
        "object_id": "",
        "object_repr": "",
        "before": None,
        "after": {"n": n},
        "request_id": "",
    }


def _write_legacy_chain(apps, count: int) -> None:
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditHead = apps.get_model("audit", "AuditHead")
    prev = GENESIS
    at = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    for pk in range(1, count + 1):
        fields = _old_fields(pk, at, pk)
        digest = event_hash(prev_hash=prev, fields=fields)
        AuditEvent.objects.create(
            id=pk, occurred_at=at, action="test.legacy", after={"n": pk}, prev_hash=prev, hash=digest
        )
        prev = digest
    AuditHead.objects.create(pk=1, last_event_id=count, last_hash=prev)


def test_events_from_before_the_partitioning_still_verify_and_new_ones_follow():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    executor.loader.build_graph()
    _write_legacy_chain(executor.loader.project_state([BEFORE]).apps, 3)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from khutwa.audit.models import AuditEvent, AuditHead
    from khutwa.audit.services import audit_record, audit_verify_chains

    legacy = list(AuditEvent.objects.filter(chain="global").order_by("seq"))
    assert [(e.pk, e.seq) for e in legacy] == [(1, 1), (2, 2), (3, 3)]
    assert AuditHead.objects.get(chain="global").last_seq == 3
    assert audit_verify_chains() == (3, [])
    # New events take new ids (PostgreSQL's identity moved past the explicit ones) in their chains.
    event = audit_record(actor=None, action="test.event")
    assert event.pk > 3 and (event.chain, event.seq) == ("system", 1)
    checked, breaks = audit_verify_chains()
    assert breaks == [] and checked == AuditEvent.objects.count()
    # The legacy chain is still checked as sealed: tampering with it is caught.
    from khutwa.audit.triggers import triggers_suspend

    triggers_suspend(connection)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET after = %s WHERE id = 2", ['{"n": 99}'])
    _, breaks = audit_verify_chains()
    assert [(b.chain, b.seq) for b in breaks] == [("global", 2)]
    assert breaks[0].reason == "event #2 was altered: its content no longer matches its hash"
