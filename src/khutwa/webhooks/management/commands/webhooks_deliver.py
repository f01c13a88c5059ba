from typing import Any

from django.core.management.base import BaseCommand

from khutwa.webhooks.services import deliver_due


class Command(BaseCommand):
    help = "Send the webhook deliveries that are due, once (the scheduler runs it every minute)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = deliver_due()
        self.stdout.write(f"{count} webhook deliveries attempted")
