from typing import Any

from django.core.management.base import BaseCommand

from khutwa.approvals.services import reminders_send


class Command(BaseCommand):
    help = "Remind reviewers of reviews due tomorrow and overdue ones (idempotent; run daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        before, overdue = reminders_send()
        self.stdout.write(f"{before} due-date reminders, {overdue} overdue reminders sent")
