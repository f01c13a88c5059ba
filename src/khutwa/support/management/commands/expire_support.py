from typing import Any

from django.core.management.base import BaseCommand

from khutwa.support.services import applications_expire


class Command(BaseCommand):
    help = "Expire unclaimed support approvals and release their reservations (idempotent; run daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{applications_expire()} approvals expired")
