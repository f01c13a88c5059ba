"""Reads of the transparency log: checkpoints, proofs, entries, a document's place in the log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from khutwa.tlog import merkle
from khutwa.tlog.models import Checkpoint, Cosignature, Entry, EntryKind, Node
from khutwa.tlog.note import add_signature_lines
from khutwa.tlog.services import document_entry_of, nodes_read

MAX_ENTRIES = 1000


def checkpoint_latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-size").first()


def checkpoint_note(checkpoint: Checkpoint) -> str:
    """What ``GET /api/v1/log/checkpoint`` serves: the signed note and its cosignatures."""
    return cosigned_note(checkpoint)


def log_size() -> int:
    latest = checkpoint_latest()
    return latest.size if latest else 0


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]
    entry: str  # the entry's text, whose UTF-8 bytes hash to ``leaf_hash``


def inclusion_proof(*, leaf_hash: str, size: int) -> InclusionProof | None:
    """The proof of the first entry with ``leaf_hash`` in the tree of ``size`` entries (which
    the caller checked is at most the newest checkpoint's); None when no such entry."""
    entry = Entry.objects.filter(leaf_hash=leaf_hash, index__lt=size).order_by("index").first()
    if entry is None:
        return None
    nodes = nodes_read(merkle.inclusion_nodes(entry.index, size))
    proof = merkle.inclusion_proof_from(entry.index, size, nodes)
    return InclusionProof(
        index=entry.index,
        tree_size=size,
        leaf_hash=leaf_hash,
        hashes=[h.hex() for h in proof],
        entry=entry.entry,
    )


def consistency_proof(*, size1: int, size2: int) -> list[str]:
    nodes = nodes_read(merkle.consistency_nodes(size1, size2))
    return [h.hex() for h in merkle.consistency_proof_from(size1, size2, nodes)]


def entries_range(*, start: int, end: int) -> list[Entry]:
    return list(Entry.objects.filter(index__gte=start, index__lt=end).order_by("index"))


class LogState:
    INCLUDED = "included"
    PENDING = "pending"
    MISSING = "missing"


@dataclass(frozen=True)
class WitnessSighting:
    witness: str
    size: int  # the smallest cosigned checkpoint that holds the entry
    cosigned_at: dt.datetime


@dataclass(frozen=True)
class DocumentInLog:
    state: str  # LogState.*
    index: int | None = None
    tree_size: int | None = None
    checkpoint_time: dt.datetime | None = None
    problem: str = ""  # English, for the verification reasons: what is wrong with the entry
    witnesses: tuple[WitnessSighting, ...] = ()  # who has cosigned a checkpoint holding it


def document_in_log(
    *,
    number: str,
    public_id: str,
    hash: str,
    issued_at: dt.datetime,
) -> DocumentInLog:
    """`document_in_log_at` the newest checkpoint."""
    return document_in_log_at(
        checkpoint_latest(), number=number, public_id=public_id, hash=hash, issued_at=issued_at
    )


def document_in_log_at(
    latest: Checkpoint | None,
    *,
    number: str,
    public_id: str,
    hash: str,
    issued_at: dt.datetime,
) -> DocumentInLog:
    """Where a document is in the public log, checked against `latest`, the newest signed
    checkpoint (read by the caller: the public verification reads it with the document).

    Its entry is recomputed from its sealed facts (number, public id, hash, issue time).
    Included: that entry is in the log and its inclusion proof leads to the checkpoint's root.
    Pending: not yet, and the log has not signed a checkpoint more than the maximum merge delay
    after the document's issue. Missing: not in such a checkpoint (an entry logged for the same
    public id with other facts is named).
    """
    expected = document_entry_of(number=number, public_id=public_id, hash=hash, issued_at=issued_at)
    leaf = merkle.leaf_hash(expected.encode()).hex()
    entry = None
    if latest is not None:
        entry = (
            Entry.objects.filter(kind=EntryKind.DOCUMENT, leaf_hash=leaf, index__lt=latest.size)
            .order_by("index")
            .first()
        )
    if entry is not None and latest is not None:
        nodes = nodes_read(merkle.inclusion_nodes(entry.index, latest.size))
        proof = merkle.inclusion_proof_from(entry.index, latest.size, nodes)
        if merkle.verify_inclusion(
            leaf_hash=bytes.fromhex(leaf),
            index=entry.index,
            size=latest.size,
            proof=proof,
            root=bytes.fromhex(latest.root_hash),
        ):
            return DocumentInLog(
                state=LogState.INCLUDED,
                index=entry.index,
                tree_size=latest.size,
                checkpoint_time=latest.created_at,
                witnesses=tuple(entry_witnesses(entry.index)),
            )
        return DocumentInLog(
            state=LogState.MISSING, problem="the public log's inclusion proof does not lead to its checkpoint"
        )
    # Missing once the log has published a checkpoint more than the maximum merge delay after
    # the document's issue without it; until then (a young document, or a log that has not
    # signed since: monitors see a stale log) it is pending.
    delay = dt.timedelta(seconds=settings.KHUTWA_LOG_MAX_MERGE_DELAY_SECONDS)
    if latest is None or latest.created_at <= issued_at + delay:
        return DocumentInLog(state=LogState.PENDING)
    # By the entry's link to the stored row (indexed), not by searching every entry's text.
    if Entry.objects.filter(kind=EntryKind.DOCUMENT, document__public_id=public_id).exists():
        return DocumentInLog(
            state=LogState.MISSING, problem="the public log holds another entry for this document"
        )
    return DocumentInLog(state=LogState.MISSING, problem="missing from the public log")


# --- witnesses' cosignatures (part W) ------------------------------------------------------


def checkpoint_cosignatures(checkpoint: Checkpoint) -> list[Cosignature]:
    """The witnesses' cosignatures of ``checkpoint``, by witness name."""
    return list(Cosignature.objects.filter(checkpoint=checkpoint).order_by("witness", "key_id"))


def cosigned_note(checkpoint: Checkpoint) -> str:
    """The checkpoint's signed note with every cosignature line received for it appended
    (what ``GET /api/v1/log/checkpoint`` serves)."""
    lines = [cosignature.line for cosignature in checkpoint_cosignatures(checkpoint)]
    return add_signature_lines(checkpoint.note, lines) if lines else checkpoint.note


TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT


def tile_available(*, level: int, index: int, width: int | None) -> int | None:
    """How many hashes (or entries) the tile ``level/index`` holds in the newest checkpoint's
    tree, when the requested width (``None``: a full tile) is available; else None."""
    size = log_size()
    have = size if level < 0 else size >> (level * TILE_HEIGHT)
    wanted = width or TILE_WIDTH
    if index * TILE_WIDTH + wanted > have:
        return None
    return wanted


def tile_hashes(*, level: int, index: int, width: int) -> bytes:
    """C2SP tlog-tiles: the hashes of the complete subtrees of level ``level × 8``, from
    ``index × 256``, ``width`` of them, concatenated."""
    start = index * TILE_WIDTH
    rows = Node.objects.filter(level=level * TILE_HEIGHT, index__gte=start, index__lt=start + width).order_by(
        "index"
    )
    return b"".join(bytes.fromhex(h) for h in rows.values_list("hash", flat=True))


def tile_entries(*, index: int, width: int) -> bytes:
    """C2SP tlog-tiles entry bundle: each entry as a big-endian 16-bit length and its bytes."""
    start = index * TILE_WIDTH
    out = bytearray()
    for text in (
        Entry.objects.filter(index__gte=start, index__lt=start + width)
        .order_by("index")
        .values_list("entry", flat=True)
    ):
        raw = text.encode()
        out += len(raw).to_bytes(2, "big") + raw
    return bytes(out)


def entry_witnesses(index: int) -> list[WitnessSighting]:
    """Which witnesses have seen the entry at ``index``: each witness that cosigned a checkpoint
    holding it (size > index), with the first such checkpoint — for the verification page
    ("seen by witness X")."""
    first: dict[str, WitnessSighting] = {}
    rows = (
        Cosignature.objects.filter(checkpoint__size__gt=index)
        .order_by("checkpoint__size")
        .values_list("witness", "checkpoint__size", "timestamp")
    )
    for witness, size, timestamp in rows:
        if witness not in first:
            first[witness] = WitnessSighting(witness, size, dt.datetime.fromtimestamp(timestamp, dt.UTC))
    return sorted(first.values(), key=lambda sighting: sighting.witness)
