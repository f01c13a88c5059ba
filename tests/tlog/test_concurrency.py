"""Processes issuing at once while `khutwa log-sequencer` runs beside them: every document is
logged exactly once, indices are consecutive, every checkpoint is signed and consistent with the
one before — on the database the suite runs on (SQLite file or PostgreSQL)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.documents.test_concurrency import _env, database_url  # noqa: F401
from tests.processes import migrate

ROOT = Path(__file__).resolve().parents[2]
WORKER = str(ROOT / "tests" / "documents" / "concurrency_worker.py")
KHUTWA = str(Path(sys.executable).parent / "khutwa")
ISSUERS = 3
EACH = 8

CHECK = """
import django
django.setup()
from khutwa.documents.models import Document
from khutwa.tlog import merkle, note
from khutwa.tlog.keys import log_verifier
from khutwa.tlog.models import Checkpoint, Entry, Pending
from khutwa.tlog.selectors import consistency_proof
from khutwa.tlog.services import document_entry

assert not Pending.objects.exists(), "pending left"
entries = list(Entry.objects.order_by("index"))
assert [e.index for e in entries] == list(range(len(entries))), "indices"
documents = list(Document.objects.all())
logged = [e.document_id for e in entries if e.kind == "document"]
assert sorted(logged) == sorted(d.pk for d in documents), "each document once"
texts = {e.document_id: e.entry for e in entries if e.kind == "document"}
assert all(texts[d.pk] == document_entry(d) for d in documents), "entry text"
checkpoints = list(Checkpoint.objects.order_by("size"))
verifier = log_verifier()
leaves = [merkle.leaf_hash(e.entry.encode()) for e in entries]
for cp in checkpoints:
    body, names = note.open_note(cp.note, [verifier])
    assert names == [verifier.name], "signature"
    root = note.parse_checkpoint_body(body).root.hex()
    assert root == cp.root_hash == merkle.root_of(leaves[: cp.size]).hex(), "root"
for old, new in zip(checkpoints, checkpoints[1:]):
    proof = [bytes.fromhex(h) for h in consistency_proof(size1=old.size, size2=new.size)]
    assert old.size == 0 or merkle.verify_consistency(
        size1=old.size, size2=new.size, proof=proof,
        root1=bytes.fromhex(old.root_hash), root2=bytes.fromhex(new.root_hash),
    ), (old.size, new.size)
# the audit chains' anchors join once a minute from the sequencer's first run: a slow machine has some
print(len(documents), len([e for e in entries if e.kind != "audit"]), len(checkpoints))
"""


@pytest.mark.django_db(transaction=True)
def test_concurrent_issuing_with_the_sequencer_running(database_url, tmp_path):  # noqa: F811
    env = _env(database_url, tmp_path)
    migrate(env)
    subprocess.run([KHUTWA, "keys", "init"], env=env, check=True, cwd=ROOT, capture_output=True)  # noqa: S603
    subprocess.run([sys.executable, WORKER, "setup"], env=env, check=True, cwd=ROOT)  # noqa: S603
    sequencer = subprocess.Popen(  # noqa: S603
        [KHUTWA, "log-sequencer", "--interval", "0.1", "--batch", "5"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # issuing starts once the sequencer runs (its start-up takes seconds on a busy machine)
        assert sequencer.stdout is not None
        assert sequencer.stdout.readline().strip() == "log sequencer started"
        issuers = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, WORKER, "issue", str(EACH)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(ISSUERS)
        ]
        for process in issuers:
            _out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        time.sleep(1.0)  # a run or two with the issuers done
    finally:
        sequencer.send_signal(signal.SIGTERM)
        out, err = sequencer.communicate(timeout=60)
    assert sequencer.returncode == 0, err
    assert out.rstrip().endswith("log sequencer stopped")
    assert "appended" in out  # it ran while the issuers did
    subprocess.run([KHUTWA, "log-sequencer", "--once"], env=env, check=True, cwd=ROOT, capture_output=True)  # noqa: S603
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    documents, entries, checkpoints = map(int, result.stdout.split())
    assert documents == ISSUERS * EACH
    assert entries == documents + 1  # and the licence's issue event (audit anchors aside)
    assert checkpoints > 2  # several runs, each checked against the one before
