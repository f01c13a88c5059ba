"""`khutwa worker` outlives a database outage (PgBouncer or PostgreSQL restarting): the error is
logged and the loop starts again, rather than the process exiting with no worker left. The
cluster's fault test restarts PgBouncer under load and then needs the workers (tests/cluster)."""

from django.db import OperationalError
from django_tasks_db.management.commands.db_worker import Worker

from khutwa.jobs.management.commands import worker as command


def test_the_worker_starts_its_loop_again_after_the_database_went_away(monkeypatch, caplog):
    attempts: list[int] = []

    def loop(self):  # type: ignore[no-untyped-def]
        attempts.append(1)
        if len(attempts) < 3:
            raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(Worker, "run", loop)
    monkeypatch.setattr(command, "RECONNECT_SECONDS", (0.0,))
    worker = command.GracefulWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="outage",
        excluded_queue_names=[],
    )
    worker.run()
    assert len(attempts) == 3
    assert sum("database unavailable" in r.getMessage() for r in caplog.records) == 2


def test_a_stopped_worker_does_not_loop_on_errors(monkeypatch):
    attempts: list[int] = []

    def loop(self):  # type: ignore[no-untyped-def]
        attempts.append(1)
        self.running = False
        raise OperationalError("gone")

    monkeypatch.setattr(Worker, "run", loop)
    worker = command.GracefulWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="outage",
        excluded_queue_names=[],
    )
    worker.run()
    assert attempts == [1]
