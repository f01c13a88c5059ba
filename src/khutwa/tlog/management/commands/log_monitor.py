"""khutwa log-monitor: watch a Khutwa log from outside.

    khutwa log-monitor --url https://khutwa.bh --state DIR [--vkey VKEY | --keys khutwa-keys.json]
        [--gossip FILE] [--witness VKEY ...] [--no-documents] [--once | --every 60]

Each round: fetch the newest checkpoint and check the log's signature; check the consistency
proof from the checkpoint kept in DIR (a shrink, a fork or a bad proof: exit status 2 and a loud
message); fetch the new entries, recompute their leaf hashes and the new root from the compact
range kept in DIR; check that every new document entry verifies through the public
verification with the same hash. --gossip FILE compares with a checkpoint another client saw
(DIR/checkpoint.txt of another monitor): a fork shown to two clients is caught.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from khutwa.tlog.client import ClientError, LogClient
from khutwa.tlog.management.commands._logwatch import add_log_arguments, log_verifier, run_rounds
from khutwa.tlog.monitor import monitor_run
from khutwa.tlog.note import NoteError, Verifier


class Command(BaseCommand):
    help = (
        "Monitor a Khutwa log: signatures, consistency, entries, documents; exit status 2 on a fork, "
        "a shrink, a bad proof or a tampered entry."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_log_arguments(parser)
        parser.add_argument("--gossip", type=Path, help="a checkpoint another client saw, to compare with")
        parser.add_argument(
            "--witness",
            action="append",
            default=[],
            metavar="VKEY",
            help="a witness's cosigner vkey to report",
        )
        parser.add_argument("--no-documents", action="store_true", help="skip the verification of documents")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            source = LogClient(options["url"])
        except ClientError as exc:
            raise CommandError(f"--url: {exc}") from None
        try:
            witnesses = [Verifier.from_vkey(vkey) for vkey in options["witness"]]
        except NoteError as exc:
            raise CommandError(f"--witness: {exc}") from None
        log = log_verifier(source, options, self.stderr)

        def round_() -> None:
            gossip = None
            if options["gossip"] is not None:
                try:
                    gossip = Path(options["gossip"]).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise CommandError(f"--gossip: cannot read {options['gossip']}: {exc}") from None
            report = monitor_run(
                source,
                options["state"],
                log,
                witnesses=witnesses,
                check_documents=not options["no_documents"],
                gossip=gossip,
            )
            self.stdout.write(
                f"OK: the log of {report.size} entries (root {report.root.hex()}) extends the one of "
                f"{report.previous_size}; {report.entries_checked} new entries checked, "
                f"{report.documents_checked} documents verified"
                + (f"; cosigned by {', '.join(report.witnesses)}" if report.witnesses else "")
            )
            if report.gossip:
                self.stdout.write(f"gossip: {report.gossip}")

        run_rounds(round_, options, self.stderr)
