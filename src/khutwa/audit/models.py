"""The append-only, hash-chained audit log, partitioned into chains.

Each event belongs to one chain (a licence, a licensing application, a support programme, a
user, or `system`: `khutwa.audit.chains`) and stores its place in it (`seq`, from 1 without
gaps), the SHA-256 of its predecessor in the chain and of its own canonical content, so that
a row changed, removed or inserted behind the application's back breaks its chain
(`khutwa audit-verify` names the first broken link of every chain). Each chain has its own
head row, locked only by the writers of that chain: issuing for two licences never waits on
one row. The ORM refuses updates and deletes of events; on PostgreSQL and SQLite a database
trigger refuses them too. The events written before the chains were partitioned form the
legacy chain `global` (seq = id), verified as they were sealed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64
#: The one chain of the events written before the audit log was partitioned (seq = id).
LEGACY_CHAIN = "global"


class AuditImmutableError(Exception):
    """Raised on any attempt to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutableError("Audit events are append-only: update refused.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("Audit events are append-only: delete refused.")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor_username = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    chain = models.CharField(_("chain"), max_length=64)
    seq = models.BigIntegerField(_("place in chain"))
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects: ClassVar[AuditEventQuerySet] = AuditEventQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_chain_seq")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError("Audit events are append-only: update refused.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("Audit events are append-only: delete refused.")


class AuditHead(models.Model):
    """One row per chain: its last event's seq and hash. Locked (only) by the writers of that
    chain while appending, so each chain is linear.

    ``anchored_seq`` is the seq of the chain's anchor as the sequencer last copied it here (the
    anchor row stays the record): a chain is in the partial index ``audit_head_unanchored``
    exactly while it has moved since, so the per-minute scan for heads to anchor reads the
    chains that moved, not every chain (`audit.selectors.heads_to_anchor`)."""

    chain = models.CharField(max_length=64, unique=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    anchored_seq = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("audit chain head")
        default_permissions = ()
        indexes = [
            models.Index(
                fields=["chain"],
                condition=models.Q(last_seq__gt=models.F("anchored_seq")),
                name="audit_head_unanchored",
            )
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.last_seq}"


class AuditAnchor(models.Model):
    """The last head of a chain handed to the transparency log (`audit.selectors`). Kept apart
    from the head so that anchoring never waits on, nor blocks, a writer of the chain; once a
    head is anchored, removing the chain's tail is caught even if the head row is rewound."""

    chain = models.CharField(max_length=64, unique=True)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    anchored_at = models.DateTimeField()

    class Meta:
        verbose_name = _("audit chain anchor")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq}"
