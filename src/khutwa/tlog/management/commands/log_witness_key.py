"""khutwa log-witness-key --name NAME --out FILE: a new witness key; prints its vkey."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand, CommandError, CommandParser

from khutwa.config.files import write_new
from khutwa.tlog.note import NoteError, Signer

PASSPHRASE_ENV = "KHUTWA_WITNESS_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret


class Command(BaseCommand):
    help = (
        "Make a witness key (Ed25519, PKCS#8 PEM, mode 0600; encrypted with KHUTWA_WITNESS_PASSPHRASE "
        "when it is set) and print its cosigner vkey, which the log's operator adds to KHUTWA_LOG_WITNESSES."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="the witness's name, e.g. tamkeen.bh/witness")
        parser.add_argument("--out", required=True, type=Path, help="the private key file to create")

    def handle(self, *args: Any, name: str, out: Path, **options: Any) -> None:
        key = Ed25519PrivateKey.generate()
        try:
            signer = Signer(name, key)
        except NoteError as exc:
            raise CommandError(f"--name: {exc}") from None
        passphrase = os.environ.get(PASSPHRASE_ENV, "").encode()
        encryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        try:
            write_new(out, pem, mode=0o600)
        except FileExistsError:
            raise CommandError(f"--out: {out} exists; a witness key is never overwritten") from None
        self.stdout.write(signer.cosigner_vkey)
