from typing import Any

from django.core.management.base import BaseCommand, CommandError

from khutwa.audit.services import audit_verify_chains


class Command(BaseCommand):
    help = "Check every chain of the audit log and name the first broken link of each."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, breaks = audit_verify_chains()
        if breaks:
            for broken in breaks:
                self.stderr.write(f"audit chain {broken.chain} broken at #{broken.seq}: {broken.reason}")
            first = breaks[0]
            raise CommandError(
                f"{len(breaks)} audit chain(s) broken; first: chain {first.chain} at #{first.seq}:"
                f" {first.reason}"
            )
        self.stdout.write(self.style.SUCCESS(f"audit chains intact: {checked} events checked"))
