"""Writing to the audit log. Every state change in Khutwa calls `audit_record`."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from khutwa.audit.context import current_request_id
from khutwa.audit.hashing import canonical_json, event_hash
from khutwa.audit.models import GENESIS_HASH, AuditEvent, AuditHead


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """The content that an event's hash covers (everything but its id and hashes)."""
    return {
        "id": event.pk,
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
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    object_type, object_id, object_repr = _object_parts(obj)
    # No savepoint inside the caller's transaction: an error here fails the whole of it anyway.
    with transaction.atomic(savepoint=False):
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        next_id = head.last_event_id + 1
        event = AuditEvent(
            id=next_id,
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
            prev_hash=head.last_hash,
        )
        event.hash = event_hash(prev_hash=event.prev_hash, fields=event_fields(event))
        event.save(force_insert=True)
        AuditHead.objects.filter(pk=1).update(last_event_id=next_id, last_hash=event.hash)
    return event


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Round-trip through JSON so that what is hashed is what the database returns."""
    if value is None:
        return None
    return json.loads(canonical_json(value))


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def audit_verify_chain(*, batch_size: int = 2000) -> tuple[int, ChainBreak | None]:
    """Walk the chain in order; return how many events were checked and the first break."""
    prev_hash = GENESIS_HASH
    expected_id = 1
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.pk != expected_id:
            return checked, ChainBreak(
                expected_id, f"event #{expected_id} is missing (next present is #{event.pk})"
            )
        if event.prev_hash != prev_hash:
            return checked, ChainBreak(
                event.pk,
                f"event #{event.pk} does not point at the hash of event #{event.pk - 1}",
            )
        recomputed = event_hash(prev_hash=event.prev_hash, fields=event_fields(event))
        if recomputed != event.hash:
            return checked, ChainBreak(
                event.pk, f"event #{event.pk} was altered: its content no longer matches its hash"
            )
        prev_hash = event.hash
        expected_id += 1
        checked += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_event_id != checked or head.last_hash != prev_hash):
        return checked, ChainBreak(
            checked + 1,
            f"the chain ends at event #{checked} but its head records event #{head.last_event_id}"
            " (events were removed from the end)",
        )
    return checked, None


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
