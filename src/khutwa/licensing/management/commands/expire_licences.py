from typing import Any

from django.core.management.base import BaseCommand

from khutwa.licensing.services import licences_expire


class Command(BaseCommand):
    help = "Expire licences whose validity has ended (idempotent; run it daily from a scheduler)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = licences_expire()
        self.stdout.write(f"{count} licences expired")
