from typing import Any

from django.core.management.base import BaseCommand, CommandError

from khutwa.audit.services import audit_verify_chain


class Command(BaseCommand):
    help = "Check the audit log's hash chain and name the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = audit_verify_chain()
        if broken is not None:
            raise CommandError(f"audit chain broken at event #{broken.event_id}: {broken.reason}")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {checked} events checked"))
