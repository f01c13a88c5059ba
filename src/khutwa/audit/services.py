"""Writing to the audit log. Every state change in Khutwa calls `audit_record`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from khutwa import prebuilt
from khutwa.audit.chains import CHAIN_MAX_LENGTH, chain_for
from khutwa.audit.context import current_request_id
from khutwa.audit.hashing import canonical_json, event_hash
from khutwa.audit.models import GENESIS_HASH, LEGACY_CHAIN, AuditAnchor, AuditEvent, AuditHead
from khutwa.audit.selectors import ChainHead, heads_moved


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """The content that an event's hash covers: everything but its id and hashes, with its
    chain and place in it. (The legacy chain `global` covered the id, which was its seq.)"""
    fields: dict[str, Any] = (
        {"id": event.seq} if event.chain == LEGACY_CHAIN else {"chain": event.chain, "seq": event.seq}
    )
    fields.update(
        {
            "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor_id": event.actor_id,
            "actor_username": event.actor_username,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "object_repr": event.object_repr,
            "before": event.before,
            "after": event.after,
            "request_id": event.request_id,
        }
    )
    return fields


def _object_parts(obj: models.Model | None) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    return obj._meta.label_lower, str(obj.pk), str(obj)[:300]


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request_id: str | None = None,
    chain: str | None = None,
) -> AuditEvent:
    """Append one event to its chain (`chain`, or the one `obj` maps to: `audit.chains`),
    inside the caller's transaction. Only that chain's head is locked, until the caller commits.
    Inside `prebuilt.together()` the event's INSERT and the head's new hash are sent with the
    block's other writes (and the event returned has no id)."""
    chain = chain or chain_for(obj)
    if chain == LEGACY_CHAIN or not 0 < len(chain) <= CHAIN_MAX_LENGTH:
        raise ValueError(f"not a chain one may append to: {chain!r}")
    object_type, object_id, object_repr = _object_parts(obj)
    prebuilt.flush()  # the head's hash may be a write the caller has not sent yet
    # No savepoint inside the caller's transaction: an error here fails the whole of it anyway.
    with transaction.atomic(savepoint=False):
        head = _head_locked(chain)
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_username=getattr(actor, "username", "") or "",
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr,
            before=_jsonable(before),
            after=_jsonable(after),
            request_id=request_id if request_id is not None else current_request_id.get(),
            chain=chain,
            seq=head.last_seq,
            prev_hash=head.last_hash,
        )
        event.hash = event_hash(prev_hash=event.prev_hash, fields=event_fields(event))
        if prebuilt.is_together():  # sent with the caller's other writes: the event has no id
            prebuilt.insert_values(AuditEvent, _EVENT_FIELDS, [[getattr(event, n) for n in _EVENT_FIELDS]])
        else:
            prebuilt.insert_instance(event, _EVENT_FIELDS)  # event.save(force_insert=True), prebuilt
        prebuilt.execute(_RECORD_HASH, [event.hash, head.pk])
    return event


_EVENT_FIELDS = tuple(f.attname for f in AuditEvent._meta.concrete_fields if not f.primary_key)


def _head_locked(chain: str) -> AuditHead:
    """Lock the chain's head until the transaction ends and take the next place in it, in one
    `UPDATE … RETURNING` (the row lock is taken by the UPDATE itself; SQLite serialises writers
    with its IMMEDIATE transactions). A new chain's head is created race-free on both engines:
    INSERT … ON CONFLICT DO NOTHING, then the UPDATE again (two first writers of a chain both
    insert-or-skip, then queue on the one row). The returned head holds the new place and the
    hash of the event before it."""
    rows = prebuilt.run(_TAKE_PLACE, [chain], fetch=True)
    if not rows:
        AuditHead.objects.bulk_create([AuditHead(chain=chain)], ignore_conflicts=True)
        rows = prebuilt.run(_TAKE_PLACE, [chain], fetch=True)
    assert rows  # noqa: S101 - the head exists now
    pk, seq, prev_hash = rows[0]
    return AuditHead(pk=pk, chain=chain, last_seq=seq, last_hash=prev_hash)


_HEAD_TABLE = AuditHead._meta.db_table
_TAKE_PLACE = (
    f"UPDATE {_HEAD_TABLE} SET last_seq = last_seq + 1 WHERE chain = %s "  # noqa: S608 - our table
    "RETURNING id, last_seq, last_hash"
)
_RECORD_HASH = f"UPDATE {_HEAD_TABLE} SET last_hash = %s WHERE id = %s"  # noqa: S608 - our table


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Round-trip through JSON so that what is hashed is what the database returns."""
    if value is None:
        return None
    return json.loads(canonical_json(value))


@dataclass(frozen=True)
class ChainBreak:
    chain: str
    seq: int
    reason: str

    @property
    def event_id(self) -> int:
        """The place in the chain (for the legacy chain `global`, the event's id)."""
        return self.seq


def audit_verify_chains(*, batch_size: int = 2000) -> tuple[int, list[ChainBreak]]:
    """Walk every chain in (chain, seq) order in keyset batches (memory stays flat whatever the
    size of the log); return how many events were checked and the first break of each broken
    chain: an altered event, a missing seq, a link to the wrong predecessor, or events removed
    from the end (the head, or the last anchor handed to the transparency log, is ahead of
    the last event)."""
    breaks: list[ChainBreak] = []
    checked = 0
    ends: dict[str, tuple[int, str]] = {}  # the last event of the chains walked since the last flush
    chain, prev_seq, prev_hash, broken = "", 0, GENESIS_HASH, False
    for event in _events_in_chain_order(batch_size):
        if event.chain != chain:
            if chain and not broken:
                ends[chain] = (prev_seq, prev_hash)
                if len(ends) >= batch_size:
                    breaks.extend(_ends_behind_heads(ends))
                    ends = {}
            chain, prev_seq, prev_hash, broken = event.chain, 0, GENESIS_HASH, False
        if broken:
            continue
        checked += 1
        problem = _link_problem(event, prev_seq, prev_hash)
        if problem is not None:
            breaks.append(problem)
            broken = True
            continue
        prev_seq, prev_hash = event.seq, event.hash
    if chain and not broken:
        ends[chain] = (prev_seq, prev_hash)
    breaks.extend(_ends_behind_heads(ends))
    breaks.extend(_emptied_chains())
    return checked, sorted(breaks, key=lambda b: b.chain)


def _link_problem(event: AuditEvent, prev_seq: int, prev_hash: str) -> ChainBreak | None:
    label = _label(event.chain, event.seq)
    if event.seq != prev_seq + 1:
        expected = prev_seq + 1
        return ChainBreak(
            event.chain,
            expected,
            f"{_label(event.chain, expected)} is missing (next present is {label})",
        )
    if event.prev_hash != prev_hash:
        return ChainBreak(
            event.chain, event.seq, f"{label} does not point at the hash of {_label(event.chain, prev_seq)}"
        )
    if event_hash(prev_hash=event.prev_hash, fields=event_fields(event)) != event.hash:
        return ChainBreak(
            event.chain, event.seq, f"{label} was altered: its content no longer matches its hash"
        )
    return None


def _label(chain: str, seq: int) -> str:
    return f"event #{seq}" if chain == LEGACY_CHAIN else f"event {chain} #{seq}"


def _events_in_chain_order(batch_size: int) -> Iterator[AuditEvent]:
    """Every event in (chain, seq) order, one keyset batch at a time: a row-value comparison
    that the (chain, seq) unique index answers as a range on both engines."""
    table = AuditEvent._meta.db_table
    chain, seq = "", 0
    while True:
        batch = list(
            AuditEvent.objects.raw(
                f"SELECT * FROM {table} WHERE (chain, seq) > (%s, %s) "  # noqa: S608 - the table name is ours
                "ORDER BY chain, seq LIMIT %s",
                [chain, seq, batch_size],
            )
        )
        yield from batch
        if len(batch) < batch_size:
            return
        chain, seq = batch[-1].chain, batch[-1].seq


def _ends_behind_heads(ends: dict[str, tuple[int, str]]) -> list[ChainBreak]:
    """The chains (of `ends`) whose head records another end than the last event present, or
    whose last anchor in the transparency log is ahead of it or names another event."""
    breaks: dict[str, ChainBreak] = {}
    heads = AuditHead.objects.filter(chain__in=ends).values_list("chain", "last_seq", "last_hash")
    for chain, seq, hash_ in heads:
        last_seq, last_hash = ends[chain]
        if seq != last_seq:
            breaks[chain] = _tail_break(chain, last_seq, "head", seq)
        elif hash_ != last_hash:
            breaks[chain] = _rewritten(chain, seq, "head")
    anchored_event = AuditEvent.objects.filter(chain=OuterRef("chain"), seq=OuterRef("seq")).values("hash")[
        :1
    ]
    anchors = (
        AuditAnchor.objects.filter(chain__in=ends)
        .annotate(event_hash=Subquery(anchored_event.values("hash")[:1]))
        .values_list("chain", "seq", "hash", "event_hash")
    )
    for chain, seq, hash_, present in anchors:
        if chain in breaks:
            continue
        if seq > ends[chain][0]:
            breaks[chain] = _tail_break(chain, ends[chain][0], "transparency log anchor", seq)
        elif present != hash_:
            breaks[chain] = _rewritten(chain, seq, "transparency log anchor")
    return list(breaks.values())


def _rewritten(chain: str, seq: int, what: str) -> ChainBreak:
    return ChainBreak(
        chain, seq, f"{_label(chain, seq)} is not the event its {what} recorded (the chain was rewritten)"
    )


def _tail_break(chain: str, last_seq: int, what: str, seq: int) -> ChainBreak:
    return ChainBreak(
        chain,
        last_seq + 1,
        f"the chain {chain} ends at {_label(chain, last_seq)} but its {what} records"
        f" {_label(chain, seq)} (events were removed from the end)",
    )


def _emptied_chains() -> list[ChainBreak]:
    """Chains whose head or anchor records events of which none is left."""
    breaks = []
    has_events = Exists(AuditEvent.objects.filter(chain=OuterRef("chain")))
    for chain, seq in (
        AuditHead.objects.filter(last_seq__gt=0).filter(~has_events).values_list("chain", "last_seq")
    ):
        breaks.append(_tail_break(chain, 0, "head", seq))
    heads_broken = {b.chain for b in breaks}
    for chain, seq in AuditAnchor.objects.filter(~has_events).values_list("chain", "seq"):
        if chain not in heads_broken:
            breaks.append(_tail_break(chain, 0, "transparency log anchor", seq))
    return breaks


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The concrete field values of a model instance, as JSON-safe data for before/after."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        data[field.attname] = field.value_from_object(obj)
    if obj.pk is not None:
        for m2m in obj._meta.many_to_many:
            data[m2m.name] = sorted(str(pk) for pk in getattr(obj, m2m.name).values_list("pk", flat=True))
    data.pop("password", None)
    return json.loads(canonical_json(data))


def heads_mark_anchored(heads: Iterable[ChainHead]) -> int:
    """Record that these heads are in the transparency log (called by its sequencer in the
    transaction that appends their entries). An anchor only moves forward."""
    now = timezone.now()
    count = 0
    with transaction.atomic():
        for head in heads:
            anchor, created = AuditAnchor.objects.select_for_update().get_or_create(
                chain=head.chain, defaults={"seq": head.seq, "hash": head.hash, "anchored_at": now}
            )
            if not created and head.seq > anchor.seq:
                AuditAnchor.objects.filter(pk=anchor.pk).update(seq=head.seq, hash=head.hash, anchored_at=now)
            count += 1
    return count


def heads_sync_anchored(*, limit: int = 10_000) -> int:
    """Copy the anchors' seq onto the moved heads that were anchored since (the sequencer calls
    it after committing their entries), which takes them out of the index of moved heads; the
    number of heads updated. One short transaction over the moved heads only. On PostgreSQL a
    head a writer holds is skipped, never waited for (``SKIP LOCKED``): that chain has moved
    again, so it stays in the index anyway and is copied at a later run."""
    with transaction.atomic():
        newer = AuditAnchor.objects.filter(chain=OuterRef("chain"), seq__gt=OuterRef("anchored_seq"))
        rows = heads_moved().filter(Exists(newer)).order_by("chain")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        ids = list(rows.values_list("id", flat=True)[:limit])
        if not ids:
            return 0
        anchored = AuditAnchor.objects.filter(chain=OuterRef("chain")).values("seq")[:1]
        return AuditHead.objects.filter(id__in=ids).update(anchored_seq=Subquery(anchored))
