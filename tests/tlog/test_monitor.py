"""The monitor and the witness against an in-memory log (no HTTP; see test_monitor_live.py for that)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from khutwa.tlog import merkle
from khutwa.tlog.client import ClientError, LogEntry
from khutwa.tlog.monitor import (
    LogAlarm,
    State,
    compact_append,
    compact_root,
    gossip_check,
    monitor_run,
    open_checkpoint,
    witness_run,
)
from khutwa.tlog.note import Checkpoint, Signer, Verifier, checkpoint_body, sign_note

ORIGIN = "khutwa.example/log"
LOG = Signer(ORIGIN, Ed25519PrivateKey.generate())
WITNESS = Signer("tamkeen.example/w", Ed25519PrivateKey.generate())


def _document(n: int, tag: str = "") -> bytes:
    return (
        f"khutwa-document/v1\nINV-2026-{n:06d}\n00000000-0000-0000-0000-{n:012d}\n"
        f"{(tag + str(n)).encode().hex().ljust(64, '0')[:64]}\n2026-12-01T20:00:00Z\n"
    ).encode()


class FakeLog:
    """A log in memory: entries, a signer, and the documents the public verification knows."""

    url = "memory:"

    def __init__(self, entries: list[bytes] | None = None, signer: Signer = LOG) -> None:
        self.data = list(entries or [])
        self.signer = signer
        self.posted: list[tuple[int, str]] = []
        self.lie_about: dict[int, bytes] = {}  # index → bytes served instead of the logged ones
        self.documents: dict[str, dict[str, Any]] = {}
        for data in self.data:
            self.know(data)

    def know(self, data: bytes) -> None:
        lines = data.decode().split("\n")
        if lines[0] == "khutwa-document/v1":
            self.documents[lines[2]] = {"valid": True, "number": lines[1], "hash": lines[3]}

    def append(self, *items: bytes) -> None:
        for data in items:
            self.data.append(data)
            self.know(data)

    @property
    def leaves(self) -> list[bytes]:
        return [merkle.leaf_hash(data) for data in self.data]

    def checkpoint(self) -> str:
        body = checkpoint_body(Checkpoint(ORIGIN, len(self.data), merkle.root_of(self.leaves)))
        return sign_note(body, [self.signer])

    def consistency(self, size1: int, size2: int) -> list[bytes]:
        if not 0 < size1 <= size2 <= len(self.data):
            raise ClientError("bad sizes")
        return merkle.consistency_proof(size1, size2, self.leaves)

    def entries(self, start: int, end: int) -> list[LogEntry]:
        return [
            LogEntry(i, "document", self.lie_about.get(i, self.data[i]), merkle.leaf_hash(self.data[i]))
            for i in range(start, min(end, len(self.data)))
        ]

    def document(self, public_id: str) -> dict[str, Any] | None:
        return self.documents.get(public_id)

    def post_cosignature(self, size: int, line: str) -> dict[str, Any]:
        self.posted.append((size, line))
        return {"size": size, "created": True}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [], "tlog": {"vkey": self.signer.vkey}}


VERIFIER = Verifier.from_vkey(LOG.vkey)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=70))
def test_the_compact_range_gives_the_root_at_every_size(size: int) -> None:
    leaves = [merkle.leaf_hash(b"%d" % i) for i in range(size)]
    edge: list[bytes] = []
    for i, leaf in enumerate(leaves):
        edge = compact_append(edge, i, leaf)
        assert compact_root(edge) == merkle.root_of(leaves[: i + 1])
    assert len(edge) == bin(size).count("1")
    assert compact_root(edge) == merkle.root_of(leaves)


def test_a_good_sequence_is_followed_without_refetching(tmp_path: Path) -> None:
    log = FakeLog([_document(i) for i in range(5)])
    first = monitor_run(log, tmp_path, VERIFIER)
    assert (first.previous_size, first.size, first.entries_checked, first.documents_checked) == (0, 5, 5, 5)
    log.append(
        *[_document(i) for i in range(5, 12)], b"khutwa-licence/v1\nKH-1\nissued\n2026-12-01T20:00:00Z\n"
    )
    fetched: list[tuple[int, int]] = []
    original = log.entries
    log.entries = lambda s, e: fetched.append((s, e)) or original(s, e)  # type: ignore[method-assign]
    second = monitor_run(log, tmp_path, VERIFIER)
    assert (second.previous_size, second.size, second.entries_checked, second.documents_checked) == (
        5,
        13,
        8,
        7,
    )
    assert fetched == [(5, 13)]  # only the new entries
    state = State.load(tmp_path)
    assert state is not None and state.size == 13 and state.root == merkle.root_of(log.leaves)
    assert (tmp_path / "checkpoint.txt").read_text() == log.checkpoint()
    assert monitor_run(log, tmp_path, VERIFIER).entries_checked == 0  # nothing new


def test_a_shrink_is_caught_and_the_state_kept(tmp_path: Path) -> None:
    log = FakeLog([_document(i) for i in range(6)])
    monitor_run(log, tmp_path, VERIFIER)
    kept = (tmp_path / "state.json").read_bytes()
    log.data.pop()
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(log, tmp_path, VERIFIER)
    assert alarm.value.kind == "shrink" and "from 6 to 5" in str(alarm.value)
    assert (tmp_path / "state.json").read_bytes() == kept


def test_a_rewritten_log_is_caught_as_a_fork(tmp_path: Path) -> None:
    log = FakeLog([_document(i) for i in range(6)])
    monitor_run(log, tmp_path, VERIFIER)
    log.data[2] = _document(2, tag="backdated")  # re-sealed history: same size, other root
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(log, tmp_path, VERIFIER)
    assert alarm.value.kind == "fork" and "two different roots at size 6" in str(alarm.value)
    log.append(_document(7))  # and grown: no consistency proof can exist
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(log, tmp_path, VERIFIER)
    assert alarm.value.kind == "fork" and "not an extension" in str(alarm.value)


def test_a_dropped_entry_is_caught(tmp_path: Path) -> None:
    log = FakeLog([_document(i) for i in range(6)])
    monitor_run(log, tmp_path, VERIFIER)
    del log.data[3]
    log.append(_document(10), _document(11))
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(log, tmp_path, VERIFIER)
    assert alarm.value.kind == "fork"


def test_a_tampered_entry_is_caught(tmp_path: Path) -> None:
    log = FakeLog([_document(i) for i in range(4)])
    log.lie_about[2] = _document(2, tag="other")
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(log, tmp_path, VERIFIER)
    assert alarm.value.kind == "bad-entry" and "entry 2" in str(alarm.value)
    assert not (tmp_path / "state.json").exists()


def test_a_document_the_site_does_not_verify_is_caught(tmp_path: Path) -> None:
    log = FakeLog([_document(i) for i in range(3)])
    log.documents["00000000-0000-0000-0000-000000000001"]["hash"] = "ab" * 32
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(log, tmp_path, VERIFIER)
    assert alarm.value.kind == "bad-document" and "INV-2026-000001" in str(alarm.value)
    del log.documents["00000000-0000-0000-0000-000000000001"]
    with pytest.raises(LogAlarm, match="unknown to the site"):
        monitor_run(log, tmp_path, VERIFIER)
    assert monitor_run(log, tmp_path, VERIFIER, check_documents=False).size == 3


def test_a_checkpoint_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    log = FakeLog([_document(1)], signer=Signer(ORIGIN, Ed25519PrivateKey.generate()))
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(log, tmp_path, VERIFIER)
    assert alarm.value.kind == "bad-signature"


def test_gossip_catches_a_fork_shown_to_two_clients(tmp_path: Path) -> None:
    honest = FakeLog([_document(i) for i in range(5)])
    forked = FakeLog([_document(i) for i in range(4)] + [_document(4, tag="forged")])
    monitor_run(honest, tmp_path / "a", VERIFIER)
    monitor_run(forked, tmp_path / "b", VERIFIER)  # alone, each client sees nothing wrong
    seen_by_a = (tmp_path / "a" / "checkpoint.txt").read_text()
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(forked, tmp_path / "b", VERIFIER, gossip=seen_by_a)
    assert alarm.value.kind == "fork" and "two different trees of 5 entries" in str(alarm.value)
    # the forked log grows: it cannot prove the other client's tree is a prefix of its own
    forked.append(_document(5))
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(forked, tmp_path / "c", VERIFIER, gossip=seen_by_a)
    assert alarm.value.kind == "fork"
    # an honest log that grew is consistent with what the other client saw
    honest.append(_document(5), _document(6))
    report = monitor_run(honest, tmp_path / "a", VERIFIER, gossip=seen_by_a)
    assert "consistent" in report.gossip


def test_gossip_refuses_a_checkpoint_not_signed_by_the_log() -> None:
    log = FakeLog([_document(1)])
    _body, mine, _s = open_checkpoint(log.checkpoint(), VERIFIER)
    other = FakeLog([_document(1)], signer=Signer(ORIGIN, Ed25519PrivateKey.generate())).checkpoint()
    with pytest.raises(LogAlarm, match="BAD-SIGNATURE"):
        gossip_check(log, other, VERIFIER, mine)


def test_the_witness_cosigns_what_it_checked(tmp_path: Path) -> None:
    log = FakeLog([_document(i) for i in range(3)])
    report = witness_run(log, tmp_path, VERIFIER, WITNESS, now=1_764_633_600)
    assert report.size == 3 and log.posted == [(3, report.line)]
    log.append(_document(3), _document(4))
    report = witness_run(log, tmp_path, VERIFIER, WITNESS, now=1_764_633_660)
    assert (report.previous_size, report.size) == (3, 5)
    from khutwa.tlog.note import add_signature_lines, open_note_signatures

    note = add_signature_lines(log.checkpoint(), [report.line])
    _body, signatures = open_note_signatures(note, [VERIFIER, Verifier.from_vkey(WITNESS.cosigner_vkey)])
    assert [(s.name, s.timestamp) for s in signatures] == [
        (ORIGIN, None),
        ("tamkeen.example/w", 1_764_633_660),
    ]
    assert json.loads((tmp_path / "state.json").read_text())["size"] == 5


@pytest.mark.parametrize("attack", ["shrink", "fork", "rewrite"])
def test_the_witness_refuses_to_cosign_a_shrink_or_a_fork(tmp_path: Path, attack: str) -> None:
    log = FakeLog([_document(i) for i in range(4)])
    witness_run(log, tmp_path, VERIFIER, WITNESS, now=1)
    if attack == "shrink":
        log.data.pop()
    elif attack == "fork":
        log.data[3] = _document(3, tag="forged")
    else:
        log.data[1] = _document(1, tag="forged")
        log.append(_document(9))
    with pytest.raises(LogAlarm) as alarm:
        witness_run(log, tmp_path, VERIFIER, WITNESS, now=2)
    assert alarm.value.kind == ("shrink" if attack == "shrink" else "fork")
    assert len(log.posted) == 1  # nothing cosigned after the first
    assert json.loads((tmp_path / "state.json").read_text())["size"] == 4


def test_gossip_of_a_larger_tree_than_the_log_now_shows_is_a_fork(tmp_path: Path) -> None:
    log = FakeLog([_document(i) for i in range(5)])
    monitor_run(log, tmp_path / "a", VERIFIER)
    seen_by_a = (tmp_path / "a" / "checkpoint.txt").read_text()
    smaller = FakeLog([_document(i) for i in range(3)])  # what the log shows the second client
    with pytest.raises(LogAlarm) as alarm:
        monitor_run(smaller, tmp_path / "b", VERIFIER, gossip=seen_by_a)
    assert alarm.value.kind == "fork" and "a tree of 5 entries, larger than" in str(alarm.value)
    assert not (tmp_path / "b" / "state.json").exists()
