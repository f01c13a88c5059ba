"""The sequencer's per-minute scan for audit chains to anchor reads the chains that moved (the
partial index ``audit_head_unanchored``), not every chain: an unmoved chain is not anchored
again, a moved one is, and the scan's plan uses the index on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from khutwa.audit.models import AuditAnchor, AuditHead
from khutwa.audit.selectors import heads_moved, heads_to_anchor
from khutwa.audit.services import audit_record, heads_sync_anchored
from khutwa.tlog import services
from khutwa.tlog.models import Entry, EntryKind

pytestmark = pytest.mark.django_db


def _anchor_entries() -> list[tuple[str, int]]:
    rows = Entry.objects.filter(kind=EntryKind.AUDIT).order_by("index").values_list("entry", flat=True)
    return [(text.split("\n")[1], int(text.split("\n")[2])) for text in rows]


def test_an_unmoved_chain_is_not_anchored_again_and_a_moved_one_is(registrar, settings):
    settings.KHUTWA_LOG_AUDIT_ANCHOR_SECONDS = 60
    start = timezone.now()
    services.sequence(now=start - dt.timedelta(seconds=61))  # the log's first run starts the clock
    for chain in ("test:still", "test:busy"):
        audit_record(actor=registrar, action="test.event", chain=chain)
    services.sequence(now=start)
    anchored = _anchor_entries()
    assert ("test:still", 1) in anchored and ("test:busy", 1) in anchored
    # once their entries are committed, both heads leave the index of moved heads
    assert not heads_moved().filter(chain__in=["test:still", "test:busy"]).exists()
    assert AuditHead.objects.get(chain="test:still").anchored_seq == 1

    audit_record(actor=registrar, action="test.event", chain="test:busy")
    assert list(heads_moved().values_list("chain", flat=True)) == ["test:busy"]
    services.sequence(now=start + dt.timedelta(seconds=61))
    new = _anchor_entries()[len(anchored) :]
    assert new == [("test:busy", 2)]
    assert not heads_moved().exists()
    assert AuditAnchor.objects.get(chain="test:busy").seq == 2
    # and a minute later, with nothing moved, nothing at all is anchored
    services.sequence(now=start + dt.timedelta(seconds=130))
    assert len(_anchor_entries()) == len(anchored) + 1


def test_a_head_anchored_but_not_yet_marked_is_not_anchored_twice(registrar, settings):
    """The sequencer crashed between its commit and the marking: the anchor row decides."""
    settings.KHUTWA_LOG_AUDIT_ANCHOR_SECONDS = 60
    start = timezone.now()
    services.sequence(now=start - dt.timedelta(seconds=61))
    audit_record(actor=registrar, action="test.event", chain="test:a")
    services.sequence(now=start)
    AuditHead.objects.filter(chain="test:a").update(anchored_seq=0)  # the marking lost
    assert heads_moved().filter(chain="test:a").exists()
    assert "test:a" not in {h.chain for h in heads_to_anchor()}
    assert heads_sync_anchored() >= 1
    assert not heads_moved().filter(chain="test:a").exists()


def _many_heads(count: int) -> None:
    """``count`` chains, each anchored at its head, and two that moved since."""
    AuditHead.objects.bulk_create(
        [
            AuditHead(chain=f"bulk:{i:06d}", last_seq=3, last_hash="a" * 64, anchored_seq=3)
            for i in range(count)
        ]
    )
    AuditAnchor.objects.bulk_create(
        [
            AuditAnchor(chain=f"bulk:{i:06d}", seq=3, hash="a" * 64, anchored_at=timezone.now())
            for i in range(count)
        ]
    )
    AuditHead.objects.filter(chain__in=["bulk:000007", "bulk:001234"]).update(last_seq=4)


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE audit_audithead")
            cursor.execute("EXPLAIN " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(" ".join(str(col) for col in row) for row in cursor.fetchall())


def test_the_scan_reads_the_moved_heads_through_the_partial_index(registrar):
    _many_heads(3000)
    with CaptureQueriesContext(connection) as queries:
        due = heads_to_anchor()
    assert [h.chain for h in due if h.chain.startswith("bulk:")] == ["bulk:000007", "bulk:001234"]
    assert len(queries) == 1
    plan = _plan(queries[0]["sql"])
    assert "audit_head_unanchored" in plan, plan
    if connection.vendor == "postgresql":
        assert "Seq Scan on audit_audithead" not in plan, plan
    else:
        assert "SCAN audit_audithead\n" not in plan + "\n" and "SCAN U0" not in plan, plan
    # the index holds the moved heads only
    assert heads_moved().filter(chain__startswith="bulk:").count() == 2
