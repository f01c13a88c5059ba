"""`khutwa worker`: django-tasks-db's `db_worker` with Khutwa's defaults (the queues of
settings.TASKS, KHUTWA_WORKER_INTERVAL, no autoreload). SIGTERM or Ctrl-C: the task in hand
finishes, then the worker exits; a second signal more than two seconds later stops the task
(it is enqueued again: see jobs/retry.py)."""

from __future__ import annotations

import logging
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connections
from django_tasks import task_backends
from django_tasks.exceptions import InvalidTaskBackendError
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)

#: honcho (make run) passes on Ctrl-C as SIGTERM right after the terminal's SIGINT: one stop.
SAME_STOP_SECONDS = 2.0


#: Waits between attempts to reach a database that went away (PgBouncer or PostgreSQL
#: restarting, a failover), doubling up to the last.
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)


class GracefulWorker(Worker):
    _stop_requested_at: float | None = None

    def run(self) -> None:
        """db_worker's loop, kept alive through a database outage: the error is logged, the
        connections closed, and the loop starts again after a short wait (a task that was running
        stays RUNNING and is recovered by the scheduler: at least once)."""
        failures = 0
        while True:
            try:
                super().run()
                return
            except (OperationalError, InterfaceError):
                if not self.running:
                    return
                wait = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                logger.warning("database unavailable; the worker tries again in %s s", wait, exc_info=True)
                connections.close_all()
                time.sleep(wait)

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self._stop_requested_at is not None and now - self._stop_requested_at < SAME_STOP_SECONDS:
            return
        if self._stop_requested_at is None:
            self._stop_requested_at = now
        super().shutdown(signum, frame)


class Command(DbWorkerCommand):
    help = "Run tasks from the queues (default and webhooks) until stopped (SIGTERM: after the current task)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(
            queue_name=",".join(settings.TASKS["default"].get("QUEUES", ["default"])),
            interval=float(settings.KHUTWA_WORKER_INTERVAL),
            reload=False,
        )
        for action in parser._actions:
            if action.dest == "backend_name":
                action.type = str  # checked in handle(), with a message that says what to set

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            backend = task_backends[options["backend_name"]]
        except InvalidTaskBackendError as exc:
            raise CommandError(str(exc)) from None
        if not isinstance(backend, DatabaseBackend):
            raise CommandError(
                "khutwa worker needs the database task backend (KHUTWA_TASKS_BACKEND=database); "
                "with the immediate backend tasks run where they are enqueued."
            )
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        worker = GracefulWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=[q for q in options["exclude_queues"].split(",") if q],
        )
        worker.configure_signals()
        try:
            worker.run()
        finally:
            worker.reset_signals()
