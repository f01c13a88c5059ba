from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from khutwa.audit.admin import AuditedModelAdmin
from khutwa.catalogue.models import (
    Activity,
    ActivityCategory,
    ApprovingBody,
    Governorate,
    LicenceTier,
    Policy,
    PublicHoliday,
    Weekday,
)


@admin.register(ApprovingBody)
class ApprovingBodyAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name_ar",
        "name_en",
        "sla_working_days",
        "conducts_inspections",
        "is_active",
    )
    list_editable = ("sla_working_days", "is_active")
    search_fields = ("code", "name_ar", "name_en")


@admin.register(ActivityCategory)
class ActivityCategoryAdmin(AuditedModelAdmin):
    list_display = ("code", "name_ar", "name_en", "sort_order")
    search_fields = ("code", "name_ar", "name_en")


@admin.register(Activity)
class ActivityAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name_ar",
        "name_en",
        "category",
        "is_food",
        "requires_inspection",
        "is_active",
    )
    list_filter = ("category", "is_food", "requires_inspection", "is_active", "bodies")
    search_fields = ("code", "name_ar", "name_en")
    filter_horizontal = ("bodies",)


@admin.register(LicenceTier)
class LicenceTierAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name_ar",
        "name_en",
        "max_activities",
        "turnover_ceiling",
        "validity_months",
        "support_cap",
        "fee",
        "is_active",
    )


@admin.register(Governorate)
class GovernorateAdmin(AuditedModelAdmin):
    list_display = ("code", "name_ar", "name_en")


@admin.register(PublicHoliday)
class PublicHolidayAdmin(AuditedModelAdmin):
    list_display = ("date", "name_ar", "name_en")
    date_hierarchy = "date"


@admin.register(Weekday)
class WeekdayAdmin(AuditedModelAdmin):
    list_display = ("iso_weekday", "is_working_day")
    list_editable = ("is_working_day",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Policy)
class PolicyAdmin(AuditedModelAdmin):
    list_display = ("__str__", "appeal_days", "renewal_window_days", "attachment_max_mb")
    filter_horizontal = ("renewal_bodies",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not Policy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
