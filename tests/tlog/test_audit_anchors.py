"""The audit chains anchored in the public log by its sequencer: each chain's head that moved is
logged once every KHUTWA_LOG_AUDIT_ANCHOR_SECONDS, and a chain's tail removed with every local
trace rewound (events, head row, anchor row) is still caught, by the log."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from khutwa.audit.models import AuditAnchor, AuditEvent, AuditHead
from khutwa.audit.services import audit_verify_chains
from khutwa.audit.triggers import triggers_resume, triggers_suspend
from khutwa.tlog import services
from khutwa.tlog.checks import audit_anchor_problems
from khutwa.tlog.models import Entry, EntryKind

pytestmark = pytest.mark.django_db


def _anchors() -> dict[str, tuple[int, str]]:
    found = {}
    for text in Entry.objects.filter(kind=EntryKind.AUDIT).order_by("index").values_list("entry", flat=True):
        kind, chain, seq, digest, _end = text.split("\n")
        assert kind == "khutwa-audit/v1"
        found[chain] = (int(seq), digest)
    return found


def test_moved_heads_are_anchored_once_a_minute(issue, licence, settings):
    settings.KHUTWA_LOG_AUDIT_ANCHOR_SECONDS = 60
    start = timezone.now()
    services.sequence(now=start - dt.timedelta(seconds=60))  # the log's first run starts the clock
    assert not Entry.objects.filter(kind=EntryKind.AUDIT).exists()
    issue("invoice")
    services.sequence(now=start)
    chain = f"licence:{licence.pk}"
    head = AuditHead.objects.get(chain=chain)
    assert _anchors()[chain] == (head.last_seq, head.last_hash)
    assert AuditAnchor.objects.get(chain=chain).seq == head.last_seq
    anchored = Entry.objects.filter(kind=EntryKind.AUDIT).count()

    issue("invoice")  # within the minute: the document is logged, its chain's head not yet
    services.sequence(now=start + dt.timedelta(seconds=30))
    assert Entry.objects.filter(kind=EntryKind.AUDIT).count() == anchored
    assert Entry.objects.filter(kind=EntryKind.DOCUMENT).count() == 2

    services.sequence(now=start + dt.timedelta(seconds=61))  # nothing pending, but the minute is up
    head.refresh_from_db()
    assert _anchors()[chain] == (head.last_seq, head.last_hash)
    # Only the chains that moved: a second anchoring run adds nothing.
    count = Entry.objects.filter(kind=EntryKind.AUDIT).count()
    services.sequence(now=start + dt.timedelta(seconds=200))
    assert Entry.objects.filter(kind=EntryKind.AUDIT).count() == count
    assert audit_anchor_problems() == []


def _anchored(issue) -> None:  # type: ignore[no-untyped-def]
    """The log started a minute ago; the chains' heads anchored now."""
    services.sequence(now=timezone.now() - dt.timedelta(seconds=61))
    services.sequence()


def test_a_tail_removed_with_every_local_trace_rewound_is_caught_by_the_log(issue, licence):
    for _ in range(3):
        issue("invoice")
    _anchored(issue)
    chain = f"licence:{licence.pk}"
    events = list(AuditEvent.objects.filter(chain=chain).order_by("seq"))
    keep = events[-3]
    # The operator removes the last two events of the chain and rewinds the head and the local
    # anchor to match: the chain, its head and its anchor row agree again.
    triggers_suspend(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [events[-1].pk, events[-2].pk]
            )
        AuditHead.objects.filter(chain=chain).update(last_seq=keep.seq, last_hash=keep.hash)
        AuditAnchor.objects.filter(chain=chain).update(seq=keep.seq, hash=keep.hash)
    finally:
        triggers_resume(connection)
    assert audit_verify_chains()[1] == []  # the local checks alone see nothing
    problems = audit_anchor_problems()
    assert (
        len(problems) == 1 and f"audit chain {chain} at #{events[-1].seq}, which is not stored" in problems[0]
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="disagree with the public log"):
        call_command("audit_verify", stderr=err)
    with pytest.raises(CommandError):
        call_command("documents_verify", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_chain_rewritten_after_anchoring_is_caught_by_the_log(issue, licence):
    issue("invoice")
    _anchored(issue)
    chain = f"licence:{licence.pk}"
    last = AuditEvent.objects.filter(chain=chain).order_by("-seq").first()
    assert last is not None
    triggers_suspend(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, last.pk])
        AuditHead.objects.filter(chain=chain).update(last_hash="f" * 64)
        AuditAnchor.objects.filter(chain=chain).update(hash="f" * 64)
    finally:
        triggers_resume(connection)
    problems = audit_anchor_problems()
    assert len(problems) == 1 and "with another hash" in problems[0]
