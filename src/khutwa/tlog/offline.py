"""Checking offline that a document is in the log (``khutwa verify --log-proof --checkpoint``).

What it takes, all public: the JWKS (its ``tlog`` member: the log's vkey and the witnesses'),
a checkpoint (the signed note of ``GET /api/v1/log/checkpoint``, cosignatures included) and the
inclusion proof of the document's entry (the JSON of ``GET /api/v1/log/proof/inclusion`` as
served: it carries the entry's bytes as ``"entry"``, base64). No Django.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from khutwa.tlog.merkle import leaf_hash, verify_inclusion
from khutwa.tlog.note import NoteError, Verifier, open_note_signatures, parse_checkpoint_body

__all__ = ["InclusionCheck", "Unusable", "check_inclusion"]


class Unusable(ValueError):
    """An input file cannot be used (malformed, or missing what the check needs)."""


@dataclass
class InclusionCheck:
    valid: bool
    index: int
    size: int
    reasons: list[str] = field(default_factory=list)
    witnesses: list[tuple[str, int]] = field(default_factory=list)  # (name, cosigned at, POSIX)

    def lines(self) -> list[str]:
        out = [
            f"log: entry {self.index} of the log's checkpoint of {self.size} entries, "
            + ("inclusion proof verified" if self.valid else "NOT PROVEN")
        ]
        for name, timestamp in self.witnesses:
            moment = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.append(f"log: seen by witness {name} (cosigned {moment})")
        if self.valid and not self.witnesses:
            out.append("log: no witness cosignature on this checkpoint")
        out.extend(f"reason: {reason}" for reason in self.reasons)
        return out


def _verifiers(jwks: dict[str, Any]) -> tuple[Verifier, list[Verifier]]:
    member = jwks.get("tlog")
    if not isinstance(member, dict) or not isinstance(member.get("vkey"), str):
        raise Unusable("the keys file has no tlog member with the log's vkey")
    try:
        log = Verifier.from_vkey(member["vkey"])
        witnesses = [Verifier.from_vkey(vkey) for vkey in member.get("witnesses") or []]
    except (NoteError, TypeError) as exc:
        raise Unusable(f"the keys file's tlog member is invalid: {exc}") from None
    return log, [w for w in witnesses if w.is_cosigner]


def _proof_parts(proof: Any) -> tuple[int, int, bytes, list[bytes], bytes]:
    if not isinstance(proof, dict):
        raise Unusable("the log proof is not a JSON object")
    try:
        index, size = int(proof["index"]), int(proof["tree_size"])
        stated = bytes.fromhex(proof["leaf_hash"])
        hashes = [bytes.fromhex(value) for value in proof["hashes"]]
    except (KeyError, TypeError, ValueError):
        raise Unusable("the log proof is not {index, tree_size, leaf_hash, hashes}") from None
    if "entry" not in proof:
        raise Unusable(
            'the log proof has no "entry" (base64 of the entry\'s bytes): save the response of '
            "/api/v1/log/proof/inclusion as it is"
        )
    try:
        entry = base64.b64decode(proof["entry"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise Unusable("the log proof's entry is not base64") from None
    return index, size, stated, hashes, entry


def check_inclusion(
    *, proof: Any, checkpoint_note: str, jwks: dict[str, Any], number: str, hash: str, public_id: str | None
) -> InclusionCheck:
    """Whether the document (its number, hash and, when known, public id) is the entry the
    proof proves included in the checkpoint signed by the log's key. Raises ``Unusable``."""
    log, witnesses = _verifiers(jwks)
    index, size, stated, hashes, entry = _proof_parts(proof)
    check = InclusionCheck(valid=False, index=index, size=size)
    try:
        body, signatures = open_note_signatures(checkpoint_note, [log, *witnesses])
        checkpoint = parse_checkpoint_body(body)
    except NoteError as exc:
        check.reasons.append(f"the checkpoint does not verify with the log's key: {exc}")
        return check
    if not any(s.name == log.name and not s.is_cosignature for s in signatures):
        check.reasons.append("the checkpoint is not signed by the log's key")
        return check
    check.witnesses = [(s.name, s.timestamp or 0) for s in signatures if s.is_cosignature]
    lines = entry.decode("utf-8", errors="replace").split("\n")
    if lines[0] != "khutwa-document/v1" or len(lines) < 5:
        check.reasons.append("the proven entry is not a document entry")
    elif lines[1] != number or lines[3] != hash or (public_id is not None and lines[2] != public_id):
        check.reasons.append(f"the proven entry is another document ({lines[1]}, hash {lines[3]})")
    if leaf_hash(entry) != stated:
        check.reasons.append("the entry's bytes do not hash to the proof's leaf hash")
    if size != checkpoint.size:
        check.reasons.append(
            f"the proof is for a tree of {size} entries, the checkpoint has {checkpoint.size}"
        )
    elif not verify_inclusion(
        leaf_hash=leaf_hash(entry), index=index, size=size, proof=hashes, root=checkpoint.root
    ):
        check.reasons.append("the inclusion proof does not lead to the checkpoint's root")
    check.valid = not check.reasons
    return check
