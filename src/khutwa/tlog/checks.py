"""The stored documents against the public log (``khutwa documents-verify``).

- the log itself: every stored entry hashes to its leaf hash, and the tree of all entries has the
  root of the newest checkpoint (whose signature is the log key's): a rewritten entry shows;
- every document entry of the log names a stored document with the same facts: a document
  dropped from its chain (and the chain re-sealed) or altered after it was logged shows;
- every stored document issued more than the maximum merge delay before the newest checkpoint
  is in the log: a backdated document inserted behind the application shows.

Reads in batches (memory stays flat but for the tree's right edge).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from khutwa.audit.models import AuditEvent
from khutwa.audit.selectors import ANCHOR_ENTRY_TYPE
from khutwa.documents.models import Document
from khutwa.tlog import merkle
from khutwa.tlog.models import Entry, EntryKind
from khutwa.tlog.selectors import checkpoint_latest
from khutwa.tlog.services import DOCUMENT_V1, document_entry, document_entry_of

BATCH = 1000


def _checkpoint_signed(note_text: str) -> bool:
    from khutwa.tlog import note
    from khutwa.tlog.keys import log_verifier

    try:
        _body, names = note.open_note(note_text, [log_verifier()])
    except note.NoteError:
        return False
    return log_verifier().name in names


def _entries() -> Iterator[list[Entry]]:
    after = -1
    while True:
        rows = list(Entry.objects.filter(index__gt=after).order_by("index")[:BATCH])
        if not rows:
            return
        yield rows
        after = rows[-1].index


def log_problems(*, licence: str | None = None) -> list[str]:
    """What is wrong between the stored documents and the log (empty when nothing)."""
    problems: list[str] = []
    latest = checkpoint_latest()
    if latest is None:
        return problems
    if licence is None:
        problems += _log_itself(latest.size, latest.root_hash, latest.note)
        problems += _logged_documents()
        problems += audit_anchor_problems()
    problems += _unlogged_documents(latest.created_at, licence)
    return problems


def _log_itself(size: int, root: str, note_text: str) -> list[str]:
    problems: list[str] = []
    if not _checkpoint_signed(note_text):
        problems.append(f"log: the checkpoint of size {size} is not signed by the log's key")
    count = 0
    frontier: dict[merkle.NodeId, bytes] = {}
    for rows in _entries():
        leaves = []
        for entry in rows:
            if entry.index != count:
                problems.append(f"log: entry {count} is missing (the next stored is {entry.index})")
                return problems
            leaf = merkle.leaf_hash(entry.entry.encode())
            if leaf.hex() != entry.leaf_hash:
                problems.append(f"log: entry {entry.index} does not hash to its leaf hash")
            if count < size:
                leaves.append(leaf)
            count += 1
        if leaves:
            _created, frontier = merkle.append_leaves(min(count, size) - len(leaves), frontier, leaves)
    if count < size:
        problems.append(f"log: the checkpoint names {size} entries but {count} are stored")
    elif merkle.root_from(size, frontier).hex() != root:
        problems.append(f"log: the stored entries do not give the root of the checkpoint of size {size}")
    return problems


def _logged_documents() -> list[str]:
    problems: list[str] = []
    for rows in _entries():
        logged = {}
        for entry in rows:
            if entry.kind != EntryKind.DOCUMENT:
                continue
            lines = entry.entry.split("\n")
            if len(lines) != 6 or lines[0] != DOCUMENT_V1:
                problems.append(f"log: entry {entry.index} is not a {DOCUMENT_V1} entry")
                continue
            logged[lines[2]] = (entry.index, lines[1], entry.entry)
        stored = {
            str(d.public_id): d
            for d in Document.objects.filter(public_id__in=list(logged)).only(
                "public_id", "number", "hash", "issued_at"
            )
        }
        for public_id, (index, number, text) in logged.items():
            document = stored.get(public_id)
            if document is None:
                problems.append(
                    f"log: entry {index} logs document {number} ({public_id}), which is not stored: "
                    "a document was dropped"
                )
            elif document_entry(document) != text:
                problems.append(
                    f"log: entry {index} logs document {number} ({public_id}) with other facts than "
                    "the stored document's"
                )
    return problems


def _unlogged_documents(checkpoint_time: dt.datetime, licence: str | None) -> list[str]:
    delay = dt.timedelta(seconds=settings.KHUTWA_LOG_MAX_MERGE_DELAY_SECONDS)
    unlogged = Document.objects.filter(issued_at__lt=checkpoint_time - delay).exclude(
        Exists(Entry.objects.filter(kind=EntryKind.DOCUMENT, document=OuterRef("pk")))
    )
    if licence is not None:
        unlogged = unlogged.filter(licence__number=licence)
    problems = []
    for number, public_id, licence_number, digest, issued_at in (
        unlogged.order_by("licence__number", "counter")
        .values_list("number", "public_id", "licence__number", "hash", "issued_at")
        .iterator()
    ):
        text = document_entry_of(number=number, public_id=str(public_id), hash=digest, issued_at=issued_at)
        leaf = merkle.leaf_hash(text.encode()).hex()
        if Entry.objects.filter(leaf_hash=leaf).exists():
            continue  # logged (its link to the row aside): the entry is what counts
        problems.append(
            f"log: {licence_number}: document {number} ({public_id}) is missing from the public log"
        )
    return problems


def audit_anchor_problems() -> list[str]:
    """Each audit chain's newest head in the log must still be an event of that chain, with that
    hash: events removed from a chain's end (its head row and local anchor rewound with them) or
    a chain rewritten after it was anchored show here, since the log's entries are bound by its
    signed checkpoints. Used by `khutwa documents-verify` and `khutwa audit-verify`."""
    newest: dict[str, tuple[int, str, int]] = {}  # chain -> (seq, hash, log index)
    after = -1
    while rows := list(
        Entry.objects.filter(kind=EntryKind.AUDIT, index__gt=after)
        .order_by("index")
        .values_list("index", "entry")[:BATCH]
    ):
        for index, text in rows:
            lines = text.split("\n")
            if len(lines) == 5 and lines[0] == ANCHOR_ENTRY_TYPE and lines[2].isdigit():
                chain, seq, digest = lines[1], int(lines[2]), lines[3]
                if seq >= newest.get(chain, (0, "", 0))[0]:
                    newest[chain] = (seq, digest, index)
        after = rows[-1][0]
    problems = []
    chains = sorted(newest)
    for start in range(0, len(chains), BATCH):
        part = chains[start : start + BATCH]
        wanted = Q()
        for chain in part:
            wanted |= Q(chain=chain, seq=newest[chain][0])
        present = dict(
            ((chain, seq), digest)
            for chain, seq, digest in AuditEvent.objects.filter(wanted).values_list("chain", "seq", "hash")
        )
        for chain in part:
            seq, digest, index = newest[chain]
            found = present.get((chain, seq))
            if found is None:
                problems.append(
                    f"log: entry {index} anchors audit chain {chain} at #{seq}, which is not stored: "
                    "events were removed from the chain"
                )
            elif found != digest:
                problems.append(
                    f"log: entry {index} anchors audit chain {chain} at #{seq} with another hash: "
                    "the chain was rewritten"
                )
    return problems
