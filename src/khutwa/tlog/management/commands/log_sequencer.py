"""`khutwa log-sequencer`: moves committed documents and licence events into the public log
and signs a checkpoint, every second (docs/transparency-log.md). `--once` runs once and exits;
SIGTERM or SIGINT stop the loop between runs (a run in progress commits or rolls back whole)."""

from __future__ import annotations

import logging
import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from khutwa.tlog.services import sequence

logger = logging.getLogger("khutwa.tlog.sequencer")


class Command(BaseCommand):
    help = (
        "Append committed documents and licence events to the public log and sign a checkpoint, every second."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Sequence once (everything pending), then exit."
        )
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between runs (default 1).")
        parser.add_argument(
            "--batch", type=int, default=1000, help="At most this many entries per checkpoint (default 1000)."
        )

    def handle(self, *args: Any, once: bool, interval: float, batch: int, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.stdout.write("log sequencer started")
        while not stop.is_set():
            close_old_connections()  # a database restarted meanwhile: connect again
            try:
                done = sequence(max_batch=max(1, batch))
                while done is not None and done.appended:
                    self.stdout.write(f"appended {done.appended}: tree size {done.size}, root {done.root}")
                    if done.appended < batch or stop.is_set():
                        break
                    done = sequence(max_batch=max(1, batch))  # a backlog: the next batch at once
            except Exception:
                if once:
                    raise
                logger.exception("log sequencing failed; trying again")
            if once:
                break
            stop.wait(interval)
        self.stdout.write("log sequencer stopped")
