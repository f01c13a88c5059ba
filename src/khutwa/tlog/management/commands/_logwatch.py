"""What `log-witness` and `log-monitor` share: the log's key, the alarm, the loop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser, OutputWrapper

from khutwa.tlog.client import ClientError, LogSource
from khutwa.tlog.monitor import LogAlarm, log_verifier_from_jwks
from khutwa.tlog.note import NoteError, Verifier

ALARM_EXIT = 2  # the log misbehaved (fork, shrink, bad proof, tampered entry)
UNREADABLE_EXIT = 1  # the log or a file could not be read


def add_log_arguments(parser: CommandParser) -> None:
    parser.add_argument("--url", required=True, help="the Khutwa site, e.g. https://khutwa.bh")
    parser.add_argument("--state", required=True, type=Path, help="directory of the kept state")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--vkey", help="the log's verifier key (<origin>+<key id>+<base64>)")
    keys.add_argument("--keys", type=Path, help="a copy of the site's JWKS (khutwa-keys.json)")
    timing = parser.add_mutually_exclusive_group()
    timing.add_argument("--once", action="store_true", help="one round (the default)")
    timing.add_argument(
        "--every", type=float, metavar="SECONDS", help="a round every SECONDS, until an alarm"
    )


def log_verifier(source: LogSource, options: dict[str, Any], stderr: OutputWrapper) -> Verifier:
    """The log's key: --vkey, else the JWKS file of --keys, else the site's JWKS (trusted on
    first use: pin it with --vkey)."""
    try:
        if options.get("vkey"):
            return Verifier.from_vkey(options["vkey"])
        if options.get("keys"):
            return log_verifier_from_jwks(json.loads(Path(options["keys"]).read_text()))
        verifier = log_verifier_from_jwks(source.jwks())
    except (NoteError, OSError, ValueError, ClientError) as exc:
        raise CommandError(f"cannot read the log's key: {exc}", returncode=UNREADABLE_EXIT) from None
    except LogAlarm as exc:
        raise CommandError(exc.message, returncode=UNREADABLE_EXIT) from None
    stderr.write(
        f"warning: the log's key was taken from {source.url} itself; pin it with --vkey {verifier.vkey}"
    )
    return verifier


def run_rounds(round_: Callable[[], None], options: dict[str, Any], stderr: OutputWrapper) -> None:
    """One round, or one every --every seconds; an alarm stops with exit status 2, an
    unreachable log is retried (in a loop) or exit status 1 (once)."""
    every = options.get("every")
    if every is not None and every <= 0:
        raise CommandError("--every must be a positive number of seconds")
    while True:
        try:
            round_()
        except LogAlarm as exc:
            if exc.kind == "unreadable":
                if every is None:
                    raise CommandError(exc.message, returncode=UNREADABLE_EXIT) from None
                stderr.write(f"warning: {exc.message}; retrying in {every:g} s")
            else:
                stderr.write("!" * 72)
                stderr.write(f"ALERT: {exc}")
                stderr.write("!" * 72)
                raise CommandError(f"the log failed the check: {exc.kind}", returncode=ALARM_EXIT) from None
        if every is None:
            return
        time.sleep(every)
