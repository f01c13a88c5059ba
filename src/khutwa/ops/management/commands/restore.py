"""Restore a backup made by `khutwa backup`, then check the chains.

    khutwa restore FILE [--force] [--check-only]

Everything is checked before anything is written: the key (KHUTWA_BACKUP_KEY), every file
against the manifest, the database engine, and that the database and folders are empty
(`--force` replaces what is there). Afterwards `audit-verify` and `documents-verify` run; exit
status 1 if anything fails.
"""

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from khutwa.ops.backup import BackupError, inspect, restore


class Command(BaseCommand):
    help = "Restore a backup (database, keys, attachments) and check the audit and document chains."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--force", action="store_true", help="replace a database and folders in use")
        parser.add_argument("--check-only", action="store_true", help="decrypt and check; restore nothing")

    def handle(
        self, *args: Any, file: Path, force: bool = False, check_only: bool = False, **options: Any
    ) -> None:
        try:
            if check_only:
                manifest = inspect(file)
                self.stdout.write(self.style.SUCCESS(f"backup intact: {manifest.summary()}"))
                return
            manifest = restore(file, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {manifest.summary()}")
        call_command("audit_verify", stdout=self.stdout, stderr=self.stderr)
        call_command("documents_verify", stdout=self.stdout, stderr=self.stderr)
