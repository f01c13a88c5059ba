"""docs/transparency-log.md: the example checkpoint and proof hold, and the third party's
inclusion check runs as written (standalone: hashlib and the standard library) against a live
server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from khutwa.tlog import merkle, note, services
from khutwa.tlog.services import rfc3339

DOC = (Path(__file__).resolve().parents[2] / "docs" / "transparency-log.md").read_text()


def _block(after: str, lang: str = "") -> str:
    return DOC.split(after, 1)[1].split(f"```{lang}\n", 1)[1].split("```", 1)[0]


def test_the_example_checkpoint_and_proof_hold():
    checkpoint = _block("A real one, of a three-entry example log")
    vkey = re.search(r"verified with the vkey `([^`]+)`", DOC)[1]
    body, signers = note.open_note(checkpoint, [note.Verifier.from_vkey(vkey)])
    assert signers == ["khutwa.example/log"]
    cp = note.parse_checkpoint_body(body)
    # the example log: the licence event and the invoice of "Entries", then a quotation
    invoice = _block("## Entries\n")
    licence_text = _block("a document: its number")
    assert licence_text.startswith("khutwa-licence/v1\n")
    quotation = (
        "khutwa-document/v1\nQUO-2026-000012\n3c9e7a51-0b2d-4e8f-8c61-7a5d9e2b4f03\n"
        "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c\n2026-11-27T09:20:45Z\n"
    )
    leaves = [merkle.leaf_hash(t.encode()) for t in (licence_text, invoice, quotation)]
    assert (cp.size, cp.root) == (3, merkle.root_of(leaves))
    leaf = re.search(r"leaf hash\n`([0-9a-f]{64})`", DOC)[1]
    proof = re.findall(r'"([0-9a-f]{64})"', DOC.split("its inclusion proof in", 1)[1].split(")", 1)[0])
    assert leaf == leaves[1].hex()
    assert merkle.verify_inclusion(
        leaf_hash=leaves[1], index=1, size=3, proof=[bytes.fromhex(h) for h in proof], root=cp.root
    )


def test_the_inclusion_snippet_runs_as_written(live_server, issue):
    invoice = issue("invoice")
    services.sequence()
    snippet = _block("<!-- inclusion-snippet -->", "python")
    facts = (invoice.number, str(invoice.public_id), invoice.hash, rfc3339(invoice.issued_at))
    line = re.search(r"^number, public_id, doc_hash, issued = .*$", snippet, re.M)[0]
    snippet = snippet.replace(line, f"number, public_id, doc_hash, issued = {facts!r}")
    snippet = snippet.replace('"https://khutwa.bh"', repr(live_server.url))
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-I", "-c", snippet], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "in the public log as entry 1 of 2"
    # and a document the log does not hold fails it
    forged = snippet.replace(repr(invoice.hash), repr("0" * 64))
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-I", "-c", forged], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0


def test_checking_offline_saves_the_inclusion_response_as_the_proof_file():
    """The proof file is the inclusion endpoint's response as served: no jq, no second request."""
    steps = _block("## Checking offline")
    assert "jq" not in steps and "/log/entries" not in steps
    saved = re.search(r'^curl -s "[^"]*/api/v1/log/proof/inclusion\?[^"]*" > (\S+)$', steps, re.M)
    assert saved is not None and f"--log-proof {saved[1]} " in steps
