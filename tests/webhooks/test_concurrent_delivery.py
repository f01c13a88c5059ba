"""Several workers running deliver_due at once send each delivery once (SKIP LOCKED leases on
PostgreSQL; IMMEDIATE transactions on SQLite) — on the database the suite runs on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.documents.test_concurrency import ROOT, _env, database_url  # noqa: F401 - fixture

WORKERS = 3
SUBSCRIPTIONS = 24


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_send_each_delivery_once(database_url, tmp_path, receiver):  # noqa: F811
    env = _env(database_url, tmp_path)
    khutwa = str(Path(sys.executable).parent / "khutwa")
    subprocess.run([khutwa, "migrate", "-v0"], env=env, check=True, cwd=ROOT)  # noqa: S603
    worker = str(Path(__file__).with_name("delivery_worker.py"))
    setup = subprocess.run(  # noqa: S603
        [sys.executable, worker, "setup", receiver.url, str(SUBSCRIPTIONS)],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    receiver.secrets = setup.stdout.split()
    receiver.delay = 0.05  # each answer takes a while: the workers overlap
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, worker, "deliver"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(WORKERS)
    ]
    counts = []
    for process in processes:
        out, _err = process.communicate(timeout=300)
        assert process.returncode == 0
        counts.append(int(out.split()[-1]))
    assert sum(counts) == SUBSCRIPTIONS
    assert len(receiver.received) == SUBSCRIPTIONS
    assert len(set(receiver.ids())) == SUBSCRIPTIONS  # no webhook-id twice
    assert all(r["verified"] for r in receiver.received)
