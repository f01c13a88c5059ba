"""Every licence's chain of documents, walked in counter order and checked link by link:
each document's seal, its place in the chain, its stored rows against its payload
(`integrity.stored_vs_sealed`, the same check as online verification), and the licence's
counters. Used by `khutwa documents-verify`.

Read in batches of `BATCH` documents (keyset pagination on the counter), so memory stays flat
however long a chain is. Nothing is locked: the licence's counters are read first, and every
document issued later has a higher counter, so that issuing may go on during a walk.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q

from khutwa.documents import integrity
from khutwa.documents.models import PREFIXES, Document, DocumentCounter, DocumentType
from khutwa.documents.verification import public_keys
from khutwa.licensing.models import Licence
from khutwa.trust.verify import GENESIS_HASH, verify_document

BATCH = 200
# In a row of _DOCUMENTS_SQL: five columns, then the StoredRow's.
_COUNTER = 5 + integrity.StoredRow._fields.index("counter")
_NUMBER = re.compile(r"^([A-Z]+)-([0-9]{4})-([0-9]+)$")
_TYPES = {prefix: str(type_) for type_, prefix in PREFIXES.items()}


@dataclass(frozen=True)
class Break:
    """The first place where a licence's chain does not hold."""

    number: str  # the document's number, or what is missing ("-" when unknown)
    counter: int | None
    reasons: list[str]


@dataclass(frozen=True)
class ChainReport:
    licence: str
    checked: int  # documents read
    broken: Break | None


_DOCUMENTS_SQL = """
SELECT d.id, d.payload, d.hash, d.signature, d.kid, {stored_columns}
{stored_from}
WHERE d.licence_id = %s AND d.counter > %s
ORDER BY d.counter, d.id
LIMIT {batch}
"""


@functools.cache
def _documents_sql(vendor: str, batch: int) -> str:
    return _DOCUMENTS_SQL.format(
        stored_columns=integrity.stored_columns(vendor, links=True),
        stored_from=integrity.stored_from(links=True),
        batch=batch,
    )


def _batches(licence_id: int) -> Iterator[list[tuple[Any, ...]]]:
    """The licence's documents in counter order, `BATCH` at a time."""
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_documents_sql(connection.vendor, BATCH), [licence_id, after])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][_COUNTER]
        if len(rows) < BATCH:
            return


def _numbers(prefix: str, year: int, first: int, last: int) -> str:
    shown = [f"{prefix}-{year}-{n:06d}" for n in range(first, min(last, first + 2) + 1)]
    return ", ".join(shown) + (", …" if last > first + 2 else "")


def licence_chain_verify(licence_id: int, licence_number: str) -> ChainReport:
    """Walk one licence's chain; stop at the first break."""
    with connection.cursor() as cursor:
        cursor.execute(integrity.counters_sql(), [licence_id])
        counters = {(type_, year): (last, last_hash) for type_, year, last, last_hash in cursor.fetchall()}
    chain_last, chain_hash = counters.pop(("chain", 0), (None, None))
    jwks = public_keys()
    checked = 0
    previous: tuple[int, str, str] | None = None  # counter, hash, number of the last document read
    head_hash: str | None = None
    issued: dict[tuple[str, int], tuple[int, int]] = {}  # (type, year) → (count, highest number)
    for rows in _batches(licence_id):
        for _pk, payload, digest, signature, kid, *columns in rows:
            checked += 1
            row, related = integrity.stored_of(columns, links=True)
            if isinstance(payload, str):
                payload = json.loads(payload)
            reasons = list(verify_document(payload, signature, kid, jwks, sealed_hash=digest).reasons)
            reasons += integrity.stored_vs_sealed(row, related, payload)
            chain = payload.get("chain") if isinstance(payload, dict) else None
            sealed_previous = chain.get("previous_hash") if isinstance(chain, dict) else None
            expected = previous[0] + 1 if previous else 1
            if row.counter != expected:
                if previous is None:
                    reasons.append(f"the chain starts at counter {row.counter}, not 1")
                else:
                    reasons.append(f"counter {expected} is missing (a gap after counter {expected - 1})")
            elif previous is None and sealed_previous != GENESIS_HASH:
                reasons.append(f"counter 1 must have previous_hash {GENESIS_HASH}")
            elif previous is not None and sealed_previous != previous[1]:
                reasons.append(
                    f"previous_hash is not the SHA-256 of document {previous[2]} (counter {previous[0]}): "
                    "an inserted, altered or reordered document"
                )
            if reasons:
                return ChainReport(licence_number, checked, Break(row.number, row.counter, reasons))
            previous = (row.counter, digest, row.number)
            if chain_last is not None and row.counter <= chain_last:
                if row.counter == chain_last:
                    head_hash = digest
                match = _NUMBER.match(row.number)
                if match:
                    key = (_TYPES.get(match[1], ""), int(match[2]))
                    count, highest = issued.get(key, (0, 0))
                    issued[key] = (count + 1, max(highest, int(match[3])))
    broken = _counter_break(chain_last, chain_hash, head_hash, previous, counters, issued)
    return ChainReport(licence_number, checked, broken)


def _counter_break(
    chain_last: int | None,
    chain_hash: str | None,
    head_hash: str | None,
    previous: tuple[int, str, str] | None,
    counters: dict[tuple[str, int], tuple[int, str]],
    issued: dict[tuple[str, int], tuple[int, int]],
) -> Break | None:
    """The counters read before the walk against the documents it found."""
    missing: list[str] = []
    reasons: list[str] = []
    for (type_, year), (last, _hash) in sorted(counters.items()):
        count, highest = issued.pop((type_, year), (0, 0))
        prefix = PREFIXES.get(DocumentType(type_)) if type_ in DocumentType.values else None
        if prefix is None or (count, highest) == (last, last):
            continue
        if highest < last:
            missing.append(_numbers(prefix, year, highest + 1, last))
        reasons.append(
            f"the {type_} counter of {year} is at {last} but {count} are stored, numbered up to {highest}"
        )
    for (type_, year), (count, _highest) in sorted(issued.items()):
        reasons.append(f"{count} {type_} documents of {year} are stored but no counter numbers them")
    if chain_last is None:
        if previous is None:
            return None
        return Break("-", None, ["the licence's chain counter is missing", *reasons])
    if chain_last > 0 and head_hash is None:
        last_read = previous[0] if previous else 0
        return Break(
            ", ".join(missing) or "-",
            chain_last,
            [
                f"the licence's last document (counter {chain_last}) is missing: it was deleted "
                f"(the documents end at counter {last_read})",
                *reasons,
            ],
        )
    head = integrity.chain_head_reasons(chain_last, chain_hash, head_hash) if chain_last > 0 else []
    if head or reasons:
        return Break(", ".join(missing) or "-", chain_last, [*head, *reasons])
    return None


def chains_verify(licence: str | None = None) -> Iterator[ChainReport]:
    """Every licence that has documents or counters, by licence number (or only `licence`)."""
    licences = Licence.objects.filter(
        Q(Exists(Document.objects.filter(licence=OuterRef("pk"))))
        | Q(Exists(DocumentCounter.objects.filter(licence=OuterRef("pk"))))
    )
    if licence is not None:
        licences = Licence.objects.filter(number=licence)
    for pk, number in licences.order_by("number").values_list("pk", "number").iterator():
        yield licence_chain_verify(pk, number)
