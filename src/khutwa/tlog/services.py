"""Writes to the transparency log: the outbox rows and the sequencer (docs/transparency-log.md).

The issuing transaction only inserts one ``Pending`` row (``document_log`` /
``licence_event_log``): no lock on any shared row, no hashing. ``sequence`` then moves what has
been committed into the tree, in one transaction, and signs a checkpoint for the new size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, connections, router, transaction
from django.utils import timezone

from khutwa.audit.selectors import ChainHead, anchor_entry, heads_to_anchor
from khutwa.audit.services import heads_mark_anchored, heads_sync_anchored
from khutwa.prebuilt import insert_values
from khutwa.tlog import merkle
from khutwa.tlog.models import Checkpoint, Entry, EntryKind, LogState, Node, Pending

if TYPE_CHECKING:
    from khutwa.documents.models import Document
    from khutwa.licensing.models import Licence

DOCUMENT_V1 = "khutwa-document/v1"
LICENCE_V1 = "khutwa-licence/v1"
LICENCE_EVENTS = ("issued", "renewed", "amended", "suspended", "reinstated", "cancelled", "expired")


def rfc3339(moment: dt.datetime) -> str:
    """UTC, to the second: ``2026-12-01T23:59:59Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document_entry(document: Document) -> str:
    return document_entry_of(
        number=document.number,
        public_id=str(document.public_id),
        hash=document.hash,
        issued_at=document.issued_at,
    )


def document_entry_of(*, number: str, public_id: str, hash: str, issued_at: dt.datetime) -> str:
    """The entry bytes' text: ``khutwa-document/v1``, number, public id, hash, issue time."""
    return "".join(f"{line}\n" for line in (DOCUMENT_V1, number, public_id, hash, rfc3339(issued_at)))


def licence_event_entry(*, licence_number: str, event: str, at: dt.datetime) -> str:
    if event not in LICENCE_EVENTS:
        raise ValueError(f"unknown licence event {event!r}")
    return f"{LICENCE_V1}\n{licence_number}\n{event}\n{rfc3339(at)}\n"


def document_log(*, document: Document, now: dt.datetime | None = None) -> None:
    """Queue a just-issued document for the log (inside the transaction that stores it): one
    prebuilt INSERT (`khutwa.prebuilt`)."""
    insert_values(
        Pending,
        _PENDING_DOCUMENT,
        [[EntryKind.DOCUMENT, document_entry(document), document.pk, now or timezone.now()]],
    )


_PENDING_DOCUMENT = ("kind", "entry", "document_id", "queued_at")


def licence_event_log(*, licence: Licence, event: str, at: dt.datetime) -> None:
    """Queue a licence event for the log (inside the transaction that records it)."""
    Pending.objects.create(
        kind=EntryKind.LICENCE,
        entry=licence_event_entry(licence_number=licence.number, event=event, at=at),
        licence=licence,
        queued_at=at,
    )


def checkpoint_sign(size: int, root: bytes) -> str:
    """The C2SP checkpoint for ``size`` and ``root``, signed with the log's key."""
    from khutwa.tlog import note
    from khutwa.tlog.keys import log_origin, log_signer

    body = note.checkpoint_body(note.Checkpoint(origin=log_origin(), size=size, root=root))
    return note.sign_note(body, [log_signer()])


def nodes_read(wanted: set[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
    """The stored complete subtrees named (one query: an OR of `(level, index)` pairs, each an
    index lookup on both engines). Written in SQL because the ORM's OR of one `Q` per node (about
    20 for an inclusion proof at a million entries) cost more to build and compile than the
    database took to answer, on every public verification. (A row-value IN is no better:
    PostgreSQL plans it as this OR, and SQLite, which takes rows on the right of IN only from a
    subquery, scans the table for it.)"""
    if not wanted:
        return {}
    pairs = sorted(wanted)
    database = connections[router.db_for_read(Node)]
    q = database.ops.quote_name
    one = f"({q('level')} = %s AND {q('index')} = %s)"
    sql = (
        f"SELECT {q('level')}, {q('index')}, {q('hash')} FROM {q(Node._meta.db_table)} "  # noqa: S608 - our table
        f"WHERE {' OR '.join([one] * len(pairs))}"
    )
    with database.cursor() as cursor:
        cursor.execute(sql, [value for level_index in pairs for value in level_index])
        found = {(level, index): bytes.fromhex(hash_) for level, index, hash_ in cursor.fetchall()}
    missing = wanted - set(found)
    if missing:
        raise LookupError(f"log nodes missing: {sorted(missing)[:5]}")
    return found


@dataclass(frozen=True)
class Sequenced:
    appended: int
    size: int
    root: str


def _state_row() -> None:
    if not LogState.objects.filter(pk=1).exists():
        try:
            with transaction.atomic():
                LogState.objects.create(pk=1)
        except IntegrityError:
            pass  # another sequencer created it first


def sequence(*, max_batch: int = 1000, now: dt.datetime | None = None) -> Sequenced | None:
    """Append what is pending (at most ``max_batch``, in queue order) and sign a checkpoint.

    One transaction: the state row's lock (PostgreSQL: ``SKIP LOCKED``, so a second sequencer
    returns None at once; SQLite: the IMMEDIATE write lock), the entries, the completed nodes,
    the pending rows' removal and the checkpoint commit together or not at all. Then, when audit
    chains were anchored, a short transaction of its own records that on their head rows
    (``heads_sync_anchored``): a writer of such a chain waits at most for that one statement,
    never for the sequencer's transaction, and the sequencer never waits for a writer.
    """
    _state_row()
    with transaction.atomic():
        rows = LogState.objects.filter(pk=1)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        state = rows.first()
        if state is None:
            return None
        now = now or timezone.now()
        size = state.size
        batch = list(Pending.objects.order_by("id")[:max_batch])
        heads = _heads_due(state, now, room=max_batch - len(batch))
        batch += [
            Pending(kind=EntryKind.AUDIT, entry=anchor_entry(head).decode(), queued_at=now) for head in heads
        ]
        latest = Checkpoint.objects.filter(size=size).first()
        if not batch and latest is not None:
            return Sequenced(appended=0, size=size, root=latest.root_hash)
        leaves = [merkle.leaf_hash(p.entry.encode()) for p in batch]
        created, frontier = merkle.append_leaves(size, nodes_read(merkle.root_nodes(size)), leaves)
        Entry.objects.bulk_create(
            [
                Entry(
                    index=size + i,
                    kind=p.kind,
                    entry=p.entry,
                    leaf_hash=leaf.hex(),
                    document_id=p.document_id,
                    licence_id=p.licence_id,
                    queued_at=p.queued_at,
                    sequenced_at=now,
                )
                for i, (p, leaf) in enumerate(zip(batch, leaves, strict=True))
            ]
        )
        Node.objects.bulk_create(
            [Node(level=level, index=index, hash=h.hex()) for (level, index), h in created.items()]
        )
        if queued := [p.pk for p in batch if p.pk is not None]:
            Pending.objects.filter(pk__in=queued).delete()
        if heads:
            heads_mark_anchored(heads)
            state.anchored_at = now
        new_size = size + len(batch)
        root = merkle.root_from(new_size, frontier)
        Checkpoint.objects.create(
            size=new_size, root_hash=root.hex(), note=checkpoint_sign(new_size, root), created_at=now
        )
        state.size = new_size
        state.updated_at = now
        state.save(update_fields=["size", "updated_at", "anchored_at"])
    if heads:  # committed: the anchored heads leave the index of moved heads (own transaction)
        heads_sync_anchored(limit=max_batch)
    return Sequenced(appended=len(batch), size=new_size, root=root.hex())


def _heads_due(state: LogState, now: dt.datetime, *, room: int) -> list[ChainHead]:
    """The audit chains' heads that moved since they were last anchored, once every
    KHUTWA_LOG_AUDIT_ANCHOR_SECONDS from the log's first run (so that a busy licence adds one
    anchor a minute, not one per document); within what is left of the batch."""
    every = dt.timedelta(seconds=settings.KHUTWA_LOG_AUDIT_ANCHOR_SECONDS)
    if state.anchored_at is None:  # the log's first run starts the clock
        state.anchored_at = now
        return []
    if room <= 0 or now - state.anchored_at < every:
        return []
    return heads_to_anchor(limit=room)


def sequence_all(**kwargs: Any) -> int:
    """Sequence until nothing is pending (the demo, tests); the number of entries appended."""
    total = 0
    while True:
        done = sequence(**kwargs)
        if done is None or done.appended == 0:
            return total
        total += done.appended
