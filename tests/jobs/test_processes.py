"""Real `khutwa worker` and `khutwa scheduler` processes on the suite's database (a SQLite file
copied from the test database, or the PostgreSQL test database itself): a worker renders an
issued document's PDF and sends mail; a worker killed in the middle of a task, two schedulers at
once (one run per slot), recovery, and the task runs again with its effect made once; a worker
stopped with SIGTERM finishes the task in hand."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from khutwa.documents.models import RenderedFile
from khutwa.jobs.mail import email_on_commit
from khutwa.jobs.models import ScheduledRun
from khutwa.jobs.schedule import JOBS
from tests.jobs import tasks as test_tasks

ROOT = Path(__file__).resolve().parents[2]
KHUTWA = str(Path(sys.executable).parent / "khutwa")


@dataclass
class Shared:
    """The test database, shared with child processes."""

    env: dict[str, str]
    sqlite_file: Path | None

    def publish(self) -> None:
        """What this test wrote becomes visible to the children (SQLite: copied to the file)."""
        if self.sqlite_file is not None:
            connection.ensure_connection()
            target = sqlite3.connect(self.sqlite_file)
            connection.connection.backup(target)
            target.close()

    def collect(self) -> None:
        """What the children wrote becomes visible to this test (SQLite: copied back)."""
        if self.sqlite_file is not None:
            source = sqlite3.connect(self.sqlite_file)
            source.backup(connection.connection)
            source.close()

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [KHUTWA, *args],
            env={**self.env, **env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603
            [KHUTWA, *args],
            env={**self.env, **env},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


@pytest.fixture
def shared(transactional_db, tmp_path, settings) -> Iterator[Shared]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "khutwa.config.settings",
            "PYTHONPATH": str(ROOT),  # the test tasks (tests/jobs/tasks.py)
            "KHUTWA_VAR_DIR": str(tmp_path),
            "KHUTWA_KEY_DIR": str(settings.KHUTWA_KEY_DIR),
            "KHUTWA_KEY_PASSPHRASE": "test-passphrase",
            "KHUTWA_TASKS_BACKEND": "database",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        }
    )
    sqlite_file = None
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
        env["DATABASE_URL"] = f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    else:
        sqlite_file = tmp_path / "shared.sqlite3"
        env["DATABASE_URL"] = f"sqlite:///{sqlite_file}"
    yield Shared(env=env, sqlite_file=sqlite_file)
    connection.close()  # SQLite: the in-memory database was replaced under Django's feet


def _wait_for(path: Path, text: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} never held {text!r}")


def test_workers_and_schedulers_as_processes(shared, issue, tmp_path):
    """One scenario, to start as few processes as possible (each costs seconds):
    1. a worker renders an issued document's PDF and sends a mail (the file backend);
    2. then takes a task that waits, and is killed (SIGKILL) in the middle of it;
    3. two schedulers at the same moment start each slot once, and recover the lost task once;
    4. another worker runs it again, with its effect made once; SIGTERM in the middle of the
       task lets it finish, then the worker exits."""
    document = issue("invoice")  # transactional: committed, so its task is enqueued
    email_on_commit(subject="Khutwa: KH-1 · خطوة", body="Body", recipients=["someone@example.bh"])
    render = DBTaskResult.objects.get(task_path="khutwa.documents.tasks.document_pdf_render")
    assert render.args_kwargs["args"] == [str(document.public_id)]
    assert not RenderedFile.objects.exists()
    folder = tmp_path / "task"
    folder.mkdir()
    test_tasks.wait_for_go.enqueue(str(folder))  # enqueued last: taken last
    shared.publish()

    worker = shared.start("worker", "--no-startup-delay")
    try:
        _wait_for(folder / "log", "start")  # the others are done; this one waits for "go"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    time.sleep(1.1)  # longer than KHUTWA_TASK_STALL_SECONDS below

    schedulers = [
        shared.start("scheduler", "--once", "--now", "2026-12-02T00:06", KHUTWA_TASK_STALL_SECONDS="1")
        for _ in range(2)
    ]
    outputs = [s.communicate(timeout=120)[0] for s in schedulers]
    assert [s.returncode for s in schedulers] == [0, 0], outputs

    second = shared.start("worker", "--no-startup-delay")
    try:
        _wait_for(folder / "log", "start\nstart\n")
        second.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        (folder / "go").touch()
        output = second.communicate(timeout=60)[0]
    finally:
        second.kill()
    assert second.returncode == 0, output
    assert "shutting down gracefully" in output
    shared.collect()

    # 1. The PDF is stored, the mail sent (once).
    stored = RenderedFile.objects.get(document=document)
    assert bytes(stored.pdf).startswith(b"%PDF")
    assert DBTaskResult.objects.get(pk=render.pk).status == TaskResultStatus.SUCCESSFUL
    sent = [m.read_text() for m in (tmp_path / "mail").iterdir()]
    assert sum("To: someone@example.bh" in m for m in sent) == 1
    # 2-4. The lost task ran twice (at least once), its effect made once.
    assert (folder / "log").read_text() == "start\nstart\n"
    assert (folder / "effect").read_text() == "done\n"
    task = DBTaskResult.objects.get(task_path="tests.jobs.tasks.wait_for_go")
    assert task.status == TaskResultStatus.SUCCESSFUL and len(task.worker_ids) == 2
    # 3. One run per job and slot, one task each, recovery by one scheduler.
    runs = list(ScheduledRun.objects.values_list("job", flat=True))
    assert sorted(runs) == sorted(job.name for job in JOBS)
    for job in JOBS:
        if not job.inline:
            assert DBTaskResult.objects.filter(task_path=job.task).count() == 1, job.name
    claimed = [
        line for out in outputs for line in out.splitlines() if line.startswith("recover_stalled_tasks ")
    ]
    assert len(claimed) == 1
