"""Back up the database, the key store and the private files into one encrypted file.

    khutwa backup [--output var/backups/khutwa-20261201T120000Z.kbk]
    khutwa backup --new-key      # print a fresh KHUTWA_BACKUP_KEY

The key comes from KHUTWA_BACKUP_KEY; keep it apart from the backups. Exit status 1 on error.
"""

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from khutwa.ops import crypto
from khutwa.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database, keys and attachments into one encrypted file (KHUTWA_BACKUP_KEY)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, help="the backup file to write (must not exist)")
        parser.add_argument("--new-key", action="store_true", help="print a fresh key and stop")

    def handle(self, *args: Any, output: Path | None = None, new_key: bool = False, **options: Any) -> None:
        if new_key:
            self.stdout.write(crypto.new_key())
            return
        if output is None:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            output = Path(settings.VAR_DIR) / "backups" / f"khutwa-{stamp}.kbk"
        try:
            manifest = backup(output)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"backup written to {output}: {manifest.summary()}"))
