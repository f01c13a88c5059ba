from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from khutwa.documents.signing import cache_clear, key_store
from khutwa.trust.keys import KeyStoreError


class Command(BaseCommand):
    help = (
        "The platform's signing keys (encrypted at rest with KHUTWA_KEY_PASSPHRASE): "
        "init creates the Ed25519 key, the platform CA and the PDF-signing certificate; "
        "rotate makes a new Ed25519 key active (old ones stay published as retired); list shows them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["init", "rotate", "list", "jwks"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        store = key_store()
        try:
            if action == "init":
                created = store.init()
                self.stdout.write("keys created" if created else "keys already present; nothing changed")
            elif action == "rotate":
                store.init()
                kid = store.rotate()
                cache_clear()
                self.stdout.write(f"new active key {kid}")
            elif action == "jwks":
                import json

                self.stdout.write(json.dumps(store.jwks(), indent=2))
                return
            for info in store.list():
                self.stdout.write(f"{info.kid}  {info.status:<8}  {info.created_at.isoformat()}")
        except KeyStoreError as exc:
            raise CommandError(str(exc)) from None
