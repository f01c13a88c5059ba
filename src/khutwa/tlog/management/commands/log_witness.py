"""khutwa log-witness: what an independent witness (Tamkeen, the Ministry) runs.

    khutwa log-witness --url https://khutwa.bh --key witness.pem --name tamkeen.bh/witness \\
        --state /var/lib/khutwa-witness [--vkey VKEY | --keys khutwa-keys.json] [--once | --every 10]

Each round: fetch the log's checkpoint, check the log's signature, check a consistency proof
from the last checkpoint this witness cosigned (kept in --state, written atomically), refuse on
a shrink or a fork (exit status 2 and a loud message), otherwise cosign it (C2SP
tlog-cosignature) and POST the cosignature to /api/v1/log/cosignatures.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand, CommandError, CommandParser

from khutwa.tlog.client import ClientError, LogClient
from khutwa.tlog.management.commands._logwatch import add_log_arguments, log_verifier, run_rounds
from khutwa.tlog.management.commands.log_witness_key import PASSPHRASE_ENV
from khutwa.tlog.monitor import witness_run
from khutwa.tlog.note import NoteError, Signer


def load_witness(path: Path, name: str) -> Signer:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"--key: cannot read {path}: {exc}") from None
    passphrase = os.environ.get(PASSPHRASE_ENV, "").encode() or None
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise CommandError(
            f"--key: {path} is not a readable private key ({PASSPHRASE_ENV}?): {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CommandError(f"--key: {path} is not an Ed25519 key")
    try:
        return Signer(name, key)
    except NoteError as exc:
        raise CommandError(f"--name: {exc}") from None


class Command(BaseCommand):
    help = (
        "Witness a Khutwa log: check each new checkpoint for consistency with the last one cosigned "
        "and send a cosignature; exit status 2 on a shrink or a fork."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_log_arguments(parser)
        parser.add_argument(
            "--key", required=True, type=Path, help="the witness's private key (log-witness-key)"
        )
        parser.add_argument("--name", required=True, help="the witness's name, as in its vkey")

    def handle(self, *args: Any, **options: Any) -> None:
        witness = load_witness(options["key"], options["name"])
        try:
            source = LogClient(options["url"])
        except ClientError as exc:
            raise CommandError(f"--url: {exc}") from None
        log = log_verifier(source, options, self.stderr)

        def round_() -> None:
            report = witness_run(source, options["state"], log, witness, now=int(time.time()))
            grown = f"from {report.previous_size} " if report.previous_size != report.size else ""
            self.stdout.write(
                f"cosigned the checkpoint of {report.size} entries ({grown}consistent) as {witness.name}"
            )

        run_rounds(round_, options, self.stderr)
