"""Dead letters and scheduled runs for the system administrator; "Run again" replays a dead
letter's task (once)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext

from khutwa.audit.admin import ReadOnlyAdmin
from khutwa.errors import Refused
from khutwa.jobs.models import DeadLetter, ScheduledRun
from khutwa.jobs.services import dead_letter_replay


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ("task_path", "attempts", "first_failed_at", "last_failed_at", "replayed_at")
    list_filter = ("task_path", ("replayed_at", admin.EmptyFieldListFilter))
    search_fields = ("task_path", "last_error")
    date_hierarchy = "last_failed_at"
    fields = (
        "task_path",
        "args_kwargs",
        "attempts",
        "first_failed_at",
        "last_failed_at",
        "replayed_at",
        "error",
    )
    readonly_fields = fields
    actions = ["run_again"]

    @admin.display(description=gettext_lazy("last error"))
    def error(self, obj: DeadLetter) -> str:
        return format_html("<pre>{}</pre>", obj.last_error)

    def has_run_again_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("jobs.change_deadletter"))

    @admin.action(description=gettext_lazy("Run again"), permissions=["run_again"])
    def run_again(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        done = 0
        for letter in queryset:
            try:
                dead_letter_replay(actor=request.user, letter=letter)
            except Refused as exc:
                self.message_user(request, f"{letter.task_path}: {exc}", messages.WARNING)
            else:
                done += 1
        if done:
            message = ngettext("%(count)d task enqueued again.", "%(count)d tasks enqueued again.", done)
            self.message_user(request, message % {"count": done}, messages.SUCCESS)


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdmin):
    list_display = ("job", "slot", "claimed_at", "task_id")
    list_filter = ("job",)
    date_hierarchy = "slot"
