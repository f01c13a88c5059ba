from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from khutwa.audit.models import AuditEvent
from khutwa.audit.services import audit_record, snapshot


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by the services (the audit log, dead letters, what was sent): nobody
    adds, changes or deletes them in the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "occurred_at",
        "chain",
        "seq",
        "actor_username",
        "action",
        "object_type",
        "object_repr",
    )
    list_filter = ("action", "object_type")
    search_fields = ("actor_username", "object_id", "object_repr", "request_id", "chain")
    date_hierarchy = "occurred_at"


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose every save and delete writes an audit event with before/after.

    The event is written after the many-to-many fields are saved, so that "after" is whole.
    """

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        request._khutwa_audit_before = before  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        audit_record(
            actor=request.user,
            action=f"{obj._meta.label_lower}.{'change' if change else 'create'}",
            obj=obj,
            before=getattr(request, "_khutwa_audit_before", None),
            after=snapshot(obj),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_record(
            actor=request.user,
            action=f"{obj._meta.label_lower}.delete",
            obj=obj,
            before=snapshot(obj),
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
