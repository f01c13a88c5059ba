"""`khutwa scheduler`: starts the jobs of khutwa/jobs/schedule.py at their times (Asia/Bahrain),
each slot once however many schedulers run. `--once` looks once and exits; `--now` pretends it
is that time (for tests and for running a missed day by hand)."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from argparse import ArgumentParser, ArgumentTypeError
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from khutwa.jobs.scheduler import scheduler_tick

logger = logging.getLogger("khutwa.jobs.scheduler")


def local_time(value: str) -> dt.datetime:
    """ISO date-time; without an offset, in Asia/Bahrain."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"not an ISO date-time such as 2026-12-02T00:05: {value!r}") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "Start scheduled jobs at their times in Asia/Bahrain (daily jobs once a day, periodic ones)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="Look at the schedule once, then exit.")
        parser.add_argument("--now", type=local_time, help="Pretend it is this time (ISO; Asia/Bahrain).")
        parser.add_argument(
            "--tick", type=float, default=15.0, help="Seconds between looks at the schedule (default 15)."
        )

    def handle(self, *args: Any, once: bool, now: dt.datetime | None, tick: float, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.stdout.write("scheduler started")
        while not stop.is_set():
            close_old_connections()  # a database restarted meanwhile: connect again
            try:
                for run in scheduler_tick(now=now):
                    self.stdout.write(f"{run.job} {timezone.localtime(run.slot).isoformat()} {run.task_id}")
            except Exception:
                if once:
                    raise
                logger.exception("scheduler tick failed; trying again")
            if once:
                break
            stop.wait(tick)
        self.stdout.write("scheduler stopped")
