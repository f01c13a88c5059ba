"""Reads of the audit log: the chain heads to anchor in the transparency log.

The transparency log's sequencer (khutwa.tlog) calls `heads_to_anchor()` each run, appends one
entry per head (`anchor_entry`), and once those entries are committed records them with
`audit.services.heads_mark_anchored`. A chain's tail removed afterwards, even with its head row
rewound to match, is then caught: by `khutwa audit-verify` (the anchor row is ahead of the last
event) and, if the anchor row is removed too, by anyone holding the log (it holds a later head).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from khutwa.audit.models import AuditAnchor, AuditHead

#: The first line of an anchoring entry in the transparency log.
ANCHOR_ENTRY_TYPE = "khutwa-audit/v1"


@dataclass(frozen=True)
class ChainHead:
    chain: str
    seq: int
    hash: str


def heads_moved() -> QuerySet[AuditHead]:
    """The heads that moved since the sequencer last recorded their anchoring on them: read
    through the partial index ``audit_head_unanchored`` (its condition, word for word), so in
    time proportional to the chains that moved, not to all chains."""
    return AuditHead.objects.filter(last_seq__gt=F("anchored_seq"))


def heads_to_anchor(*, limit: int = 10_000) -> list[ChainHead]:
    """The chain heads (committed) that changed since their last anchoring, in chain order. Reads
    only: never waits on a writer holding a head, nor makes one wait. The anchor rows decide
    (a head whose anchoring is not yet copied onto it is not anchored twice)."""
    anchored = AuditAnchor.objects.filter(chain=OuterRef("chain")).values("seq")[:1]
    rows = (
        heads_moved()
        .annotate(anchor_seq=Subquery(anchored))
        .filter(Q(anchor_seq__isnull=True) | Q(last_seq__gt=F("anchor_seq")))
        .order_by("chain")
        .values_list("chain", "last_seq", "last_hash")[:limit]
    )
    return [ChainHead(chain, seq, hash_) for chain, seq, hash_ in rows]


def anchor_entry(head: ChainHead) -> bytes:
    """The transparency log entry that anchors a head: four lines, each ending in a newline."""
    return f"{ANCHOR_ENTRY_TYPE}\n{head.chain}\n{head.seq}\n{head.hash}\n".encode()
