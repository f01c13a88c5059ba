from typing import Any

from django.core.management.base import BaseCommand

from khutwa.notifications.services import licence_expiry_reminders_send


class Command(BaseCommand):
    help = "Remind licence holders 30 and 7 days before their licence expires (each once; run daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = licence_expiry_reminders_send()
        self.stdout.write(f"{count} licence expiry reminders sent")
