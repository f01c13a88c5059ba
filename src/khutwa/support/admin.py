from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from khutwa.audit.admin import AuditedModelAdmin
from khutwa.support.models import Beneficiary, Programme, ProgrammeCap, SupportApplication


class ProgrammeCapInline(admin.TabularInline):
    model = ProgrammeCap
    extra = 0


@admin.register(Programme)
class ProgrammeAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name_ar",
        "name_en",
        "kind",
        "rate",
        "budget",
        "reserved",
        "paid",
        "is_paused",
        "open_from",
        "open_until",
    )
    list_filter = ("kind", "is_paused", "beneficiaries")
    list_editable = ("is_paused",)
    search_fields = ("code", "name_ar", "name_en")
    filter_horizontal = ("eligible_tiers", "eligible_categories")
    readonly_fields = ("reserved", "paid")
    inlines = [ProgrammeCapInline]


@admin.register(Beneficiary)
class BeneficiaryAdmin(AuditedModelAdmin):
    list_display = ("user", "is_blocked")
    list_filter = ("is_blocked",)
    search_fields = ("user__username", "user__cpr")


@admin.register(SupportApplication)
class SupportApplicationAdmin(admin.ModelAdmin):
    list_display = ("reference", "programme", "beneficiary", "status", "entitlement", "created_at")
    list_filter = ("status", "programme")
    search_fields = ("reference",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
