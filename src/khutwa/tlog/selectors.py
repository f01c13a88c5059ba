"""Reads of the transparency log."""

from __future__ import annotations

from khutwa.tlog.models import Checkpoint, Cosignature
from khutwa.tlog.note import add_signature_lines


def checkpoint_cosignatures(checkpoint: Checkpoint) -> list[Cosignature]:
    """The witnesses' cosignatures of ``checkpoint``, by witness name."""
    return list(Cosignature.objects.filter(checkpoint=checkpoint).order_by("witness", "key_id"))


def cosigned_note(checkpoint: Checkpoint) -> str:
    """The checkpoint's signed note with every cosignature line received for it appended
    (what ``GET /api/v1/log/checkpoint`` serves)."""
    lines = [cosignature.line for cosignature in checkpoint_cosignatures(checkpoint)]
    return add_signature_lines(checkpoint.note, lines) if lines else checkpoint.note
