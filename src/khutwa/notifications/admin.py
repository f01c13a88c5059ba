"""Read-only: preferences change through the portal or the API (services.preference_update)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from khutwa.notifications.models import Preference, Sent


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Preference)
class PreferenceAdmin(_ReadOnly):
    list_display = ("user", "by_email", "by_sms", "language", "updated_at")
    list_filter = ("by_email", "by_sms", "language")
    search_fields = ("user__username",)


@admin.register(Sent)
class SentAdmin(_ReadOnly):
    list_display = ("key", "event", "at")
    search_fields = ("key",)
