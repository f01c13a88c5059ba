"""The public transparency log (docs/transparency-log.md).

``Pending`` is the outbox: the transaction that issues a document or changes a licence inserts
one row and nothing else. The sequencer (``services.sequence``) moves pending rows into the
log: each gets the next ``Entry.index``, the tree's complete subtrees it completes are stored as
``Node`` rows (so that a proof reads O(log n) rows), and a signed ``Checkpoint`` is stored for
the new size. ``LogState`` is the one row the sequencer locks: one sequencer appends at a time.
Hashes are lowercase hex. The links to documents and licences are for reading only and carry no
database constraint: an entry's text is what the log proves, and a row deleted behind the
application must not be kept from being deleted by its log entry (the log then reports it).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryKind(models.TextChoices):
    DOCUMENT = "document", _("Document")
    LICENCE = "licence", _("Licence event")
    AUDIT = "audit", _("Audit-chain anchor")


class Pending(models.Model):
    """An entry committed with its document or licence event, not yet in the log."""

    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    entry = models.TextField()
    document = models.ForeignKey(
        "documents.Document",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    licence = models.ForeignKey(
        "licensing.Licence",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    queued_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        verbose_name = _("pending log entry")
        verbose_name_plural = _("pending log entries")

    def __str__(self) -> str:
        return f"pending {self.kind} #{self.pk}"


class Entry(models.Model):
    """One leaf of the log: ``entry`` holds the exact text whose UTF-8 bytes are hashed."""

    index = models.PositiveBigIntegerField(unique=True)
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    entry = models.TextField()
    leaf_hash = models.CharField(max_length=64, db_index=True)
    document = models.ForeignKey(
        "documents.Document",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="log_entries",
        db_constraint=False,
    )
    licence = models.ForeignKey(
        "licensing.Licence",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="log_entries",
        db_constraint=False,
    )
    queued_at = models.DateTimeField()
    sequenced_at = models.DateTimeField()

    class Meta:
        ordering = ["index"]
        verbose_name = _("log entry")
        verbose_name_plural = _("log entries")

    def __str__(self) -> str:
        return f"entry {self.index} ({self.kind})"


class Node(models.Model):
    """A complete subtree: the hash of leaves [index·2^level, (index+1)·2^level); level 0 = leaves."""

    level = models.PositiveSmallIntegerField()
    index = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["level", "index"], name="tlog_node_unique")]

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class Checkpoint(models.Model):
    """A signed tree head: the C2SP tlog-checkpoint note for ``size`` entries."""

    size = models.PositiveBigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    note = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-size"]
        get_latest_by = "size"
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")

    def __str__(self) -> str:
        return f"checkpoint {self.size}"


class LogState(models.Model):
    """The single row the sequencer locks; ``size`` is the number of entries in the log."""

    size = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)
    anchored_at = models.DateTimeField(null=True, blank=True)  # the audit chains' heads, last

    def __str__(self) -> str:
        return f"log of {self.size} entries"


class Cosignature(models.Model):
    """A witness's cosignature (C2SP tlog-cosignature) of a checkpoint, as the witness sent it:
    ``line`` is the signature line appended to the checkpoint's note when it is served."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="cosignatures")
    witness = models.CharField(max_length=200)
    key_id = models.CharField(max_length=8)
    timestamp = models.PositiveBigIntegerField()
    line = models.TextField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["checkpoint", "witness"]
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "witness", "key_id"], name="tlog_cosignature_once")
        ]
        verbose_name = _("cosignature")
        verbose_name_plural = _("cosignatures")

    def __str__(self) -> str:
        return f"{self.witness} @ {self.checkpoint_id}"
