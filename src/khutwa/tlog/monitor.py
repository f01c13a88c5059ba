"""Watching a log from outside: the monitor and the witness (no Django; docs/transparency-log.md).

Both keep, in a state directory, the last checkpoint they accepted. Each run fetches the log's
newest checkpoint, checks the log's signature on it and a consistency proof from the kept one,
and raises ``LogAlarm`` on a shrink, a fork (another root at the same size, or no consistency)
or a bad proof. The monitor also fetches the new entries, recomputes their leaf hashes and the
new root from the *compact range* it keeps (the hashes of the complete subtrees covering the
tree: at most log₂(n) of them, so it never refetches the log), and checks every document entry
against the public verification. The witness cosigns what it checked (tlog-cosignature).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khutwa.tlog.client import ENTRIES_PAGE, ClientError, LogSource
from khutwa.tlog.merkle import EMPTY_ROOT, leaf_hash, node_hash, verify_consistency
from khutwa.tlog.note import (
    Checkpoint,
    NoteError,
    Signature,
    Signer,
    Verifier,
    cosign,
    open_note_signatures,
    parse_checkpoint_body,
)

__all__ = [
    "LogAlarm",
    "MonitorReport",
    "State",
    "compact_append",
    "compact_root",
    "gossip_check",
    "log_verifier_from_jwks",
    "monitor_run",
    "open_checkpoint",
    "witness_run",
]

STATE_FILE = "state.json"
CHECKPOINT_FILE = "checkpoint.txt"  # the last accepted checkpoint: what a monitor gossips


class LogAlarm(Exception):
    """The log misbehaved: ``kind`` is shrink, fork, bad-proof, bad-signature, bad-entry,
    bad-document or unreadable."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind.upper()}: {message}")
        self.kind = kind
        self.message = message


# --- the compact range ------------------------------------------------------------------


def compact_append(edge: Sequence[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The compact range of a tree of ``size`` leaves (its complete subtrees, largest first)
    after appending one leaf hash: a binary counter whose carries are node hashes."""
    out = [*edge, leaf]
    n = size
    while n & 1:
        right, left = out.pop(), out.pop()
        out.append(node_hash(left, right))
        n >>= 1
    return out


def compact_root(edge: Sequence[bytes]) -> bytes:
    """The RFC 9162 root of the tree whose compact range is ``edge``."""
    if not edge:
        return EMPTY_ROOT
    root = edge[-1]
    for subtree in reversed(edge[:-1]):
        root = node_hash(subtree, root)
    return root


# --- state ------------------------------------------------------------------------------


@dataclass
class State:
    """What a monitor or a witness keeps: the last checkpoint it accepted (and, for a monitor,
    the compact range of that tree)."""

    origin: str
    size: int
    root: bytes
    note: str
    edge: list[bytes] = field(default_factory=list)

    @classmethod
    def load(cls, directory: Path) -> State | None:
        path = Path(directory) / STATE_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                origin=str(data["origin"]),
                size=int(data["size"]),
                root=bytes.fromhex(data["root"]),
                note=str(data["note"]),
                edge=[bytes.fromhex(value) for value in data.get("edge", [])],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise LogAlarm("unreadable", f"the state file {path} is corrupt: {exc}") from None

    def save(self, directory: Path) -> None:
        """Write the state atomically (a temporary file, fsync, rename, fsync of the directory)."""
        data = {
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
            "note": self.note,
            "edge": [value.hex() for value in self.edge],
        }
        _write_atomic(Path(directory) / STATE_FILE, json.dumps(data, indent=1).encode() + b"\n")
        _write_atomic(Path(directory) / CHECKPOINT_FILE, self.note.encode("utf-8"))


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# --- checkpoints ------------------------------------------------------------------------


def log_verifier_from_jwks(jwks: dict[str, Any]) -> Verifier:
    """The log's verifier from a Khutwa JWKS (its ``tlog`` member's ``vkey``)."""
    member = jwks.get("tlog")
    if not isinstance(member, dict) or not isinstance(member.get("vkey"), str):
        raise LogAlarm("unreadable", "the JWKS has no tlog member with the log's vkey")
    try:
        return Verifier.from_vkey(member["vkey"])
    except NoteError as exc:
        raise LogAlarm("unreadable", f"the log's vkey in the JWKS is invalid: {exc}") from None


def open_checkpoint(
    note: str, log: Verifier, witnesses: Sequence[Verifier] = ()
) -> tuple[str, Checkpoint, list[Signature]]:
    """(text, checkpoint, verified signatures) of a checkpoint note signed by the log."""
    try:
        body, signatures = open_note_signatures(note, [log, *witnesses])
        checkpoint = parse_checkpoint_body(body)
    except NoteError as exc:
        raise LogAlarm("bad-signature", f"the checkpoint does not verify with the log's key: {exc}") from None
    if not any(s.name == log.name and not s.is_cosignature for s in signatures):
        raise LogAlarm("bad-signature", "the checkpoint is not signed by the log's key")
    if checkpoint.origin != log.name:
        raise LogAlarm(
            "bad-signature", f"the checkpoint's origin {checkpoint.origin!r} is not the log's {log.name!r}"
        )
    return body, checkpoint, signatures


def _check_growth(source: LogSource, old: State, new: Checkpoint) -> None:
    """Raise unless ``new`` extends the tree kept in ``old``."""
    if new.origin != old.origin:
        raise LogAlarm("fork", f"the log's origin changed from {old.origin!r} to {new.origin!r}")
    if new.size < old.size:
        raise LogAlarm("shrink", f"the log shrank from {old.size} to {new.size} entries")
    if new.size == old.size:
        if new.root != old.root:
            raise LogAlarm(
                "fork",
                f"two different roots at size {new.size}: {old.root.hex()} (kept) and {new.root.hex()} (now)",
            )
        return
    if old.size == 0:
        return  # every tree extends the empty one
    _check_consistency(source, old.size, old.root, new.size, new.root)


def _check_consistency(source: LogSource, size1: int, root1: bytes, size2: int, root2: bytes) -> None:
    try:
        proof = source.consistency(size1, size2)
    except ClientError as exc:
        raise LogAlarm("bad-proof", f"no consistency proof from {size1} to {size2}: {exc}") from None
    if not verify_consistency(size1=size1, size2=size2, proof=proof, root1=root1, root2=root2):
        raise LogAlarm(
            "fork",
            f"the tree of {size2} entries is not an extension of the tree of {size1} entries "
            "(the consistency proof does not verify): the log was rewritten or forked",
        )


# --- the monitor ------------------------------------------------------------------------


@dataclass
class MonitorReport:
    previous_size: int
    size: int
    root: bytes
    entries_checked: int = 0
    documents_checked: int = 0
    witnesses: list[str] = field(default_factory=list)
    gossip: str = ""


def _document_fields(data: bytes) -> tuple[str, str, str] | None:
    """(number, public_id, hash hex) of a ``khutwa-document/v1`` entry, None for other kinds."""
    text = data.decode("utf-8", errors="strict")
    lines = text.split("\n")
    if lines[0] != "khutwa-document/v1":
        return None
    if len(lines) < 5:
        raise ValueError("a document entry has a number, a public id, a hash and a time")
    return lines[1], lines[2], lines[3]


def _check_document(source: LogSource, index: int, data: bytes) -> bool:
    try:
        fields = _document_fields(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise LogAlarm("bad-entry", f"entry {index} is malformed: {exc}") from None
    if fields is None:
        return False
    number, public_id, digest = fields
    try:
        answer = source.document(public_id)
    except ClientError as exc:
        raise LogAlarm("unreadable", f"entry {index}: cannot verify document {number}: {exc}") from None
    if answer is None:
        raise LogAlarm(
            "bad-document", f"entry {index}: document {number} ({public_id}) is unknown to the site"
        )
    if answer.get("hash") != digest or answer.get("number") != number:
        raise LogAlarm(
            "bad-document",
            f"entry {index}: document {number} is logged with hash {digest}, "
            f"the site verifies {answer.get('number')} with hash {answer.get('hash')}",
        )
    if answer.get("valid") is not True:
        raise LogAlarm(
            "bad-document", f"entry {index}: document {number} does not verify: {answer.get('reasons')}"
        )
    return True


def monitor_run(
    source: LogSource,
    state_dir: Path,
    log: Verifier,
    *,
    witnesses: Sequence[Verifier] = (),
    check_documents: bool = True,
    gossip: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> MonitorReport:
    """One round of monitoring; the state is saved only if everything checked out."""
    old = State.load(state_dir)
    try:
        note = source.checkpoint()
    except ClientError as exc:
        raise LogAlarm("unreadable", str(exc)) from None
    _body, new, signatures = open_checkpoint(note, log, witnesses)
    if old is None:
        old = State(origin=new.origin, size=0, root=EMPTY_ROOT, note="", edge=[])
    _check_growth(source, old, new)
    report = MonitorReport(previous_size=old.size, size=new.size, root=new.root)
    report.witnesses = sorted({s.name for s in signatures if s.is_cosignature})
    edge = list(old.edge)
    position = old.size
    while position < new.size:
        try:
            page = source.entries(position, min(position + ENTRIES_PAGE, new.size))
        except ClientError as exc:
            raise LogAlarm("unreadable", str(exc)) from None
        if not page:
            raise LogAlarm("bad-entry", f"the log returned no entry at {position} below its size {new.size}")
        for entry in page:
            if entry.index != position:
                raise LogAlarm(
                    "bad-entry", f"expected entry {position}, the log returned entry {entry.index}"
                )
            if position >= new.size:
                break
            computed = leaf_hash(entry.data)
            if computed != entry.leaf_hash:
                raise LogAlarm(
                    "bad-entry",
                    f"entry {position}: the log states leaf hash {entry.leaf_hash.hex()}, "
                    f"its bytes hash to {computed.hex()}",
                )
            edge = compact_append(edge, position, computed)
            position += 1
            report.entries_checked += 1
            if check_documents and _check_document(source, entry.index, entry.data):
                report.documents_checked += 1
        if progress:
            progress(f"checked entries up to {position}")
    if compact_root(edge) != new.root:
        raise LogAlarm(
            "bad-entry",
            f"the entries the log serves hash to root {compact_root(edge).hex()}, "
            f"its checkpoint of size {new.size} says {new.root.hex()}",
        )
    if gossip is not None:
        report.gossip = gossip_check(source, gossip, log, new)
    State(origin=new.origin, size=new.size, root=new.root, note=note, edge=edge).save(state_dir)
    return report


def gossip_check(source: LogSource, other_note: str, log: Verifier, mine: Checkpoint) -> str:
    """Compare the checkpoint another client saw with ours: two roots at one size, or two
    trees the log cannot prove consistent, are a fork shown to different clients."""
    _body, other, _signatures = open_checkpoint(other_note, log)
    if other.origin != mine.origin:
        raise LogAlarm("fork", f"the other checkpoint is of another log ({other.origin!r})")
    if other.size == mine.size:
        if other.root != mine.root:
            raise LogAlarm(
                "fork",
                f"the log showed two different trees of {mine.size} entries: root {mine.root.hex()} "
                f"here, {other.root.hex()} to the other client",
            )
        return f"the other client saw the same tree of {mine.size} entries"
    if other.size > mine.size:
        raise LogAlarm(
            "fork",
            f"the other client was shown a tree of {other.size} entries, larger than the log's newest "
            f"checkpoint of {mine.size} here: the log shows different trees to different clients",
        )
    if other.size > 0:
        _check_consistency(source, other.size, other.root, mine.size, mine.root)
    return f"the other client's tree of {other.size} entries is consistent with this one of {mine.size}"


# --- the witness ------------------------------------------------------------------------


@dataclass
class WitnessReport:
    previous_size: int
    size: int
    line: str
    answer: dict[str, Any]


def witness_run(
    source: LogSource, state_dir: Path, log: Verifier, witness: Signer, *, now: int
) -> WitnessReport:
    """Check the log's newest checkpoint against the last one cosigned, then cosign it and
    send the cosignature to the log. The state is saved before sending: the witness has
    observed this tree whether the log takes the cosignature or not."""
    old = State.load(state_dir)
    try:
        note = source.checkpoint()
    except ClientError as exc:
        raise LogAlarm("unreadable", str(exc)) from None
    body, new, _signatures = open_checkpoint(note, log)
    if old is None:
        old = State(origin=new.origin, size=0, root=EMPTY_ROOT, note="")
    _check_growth(source, old, new)
    line = cosign(body, witness, now)
    State(origin=new.origin, size=new.size, root=new.root, note=note).save(state_dir)
    try:
        answer = source.post_cosignature(new.size, line)
    except ClientError as exc:
        raise LogAlarm("unreadable", f"the cosignature could not be delivered: {exc}") from None
    return WitnessReport(previous_size=old.size, size=new.size, line=line, answer=answer)
