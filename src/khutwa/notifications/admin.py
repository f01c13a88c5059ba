"""Read-only: preferences change through the portal or the API (services.preference_update)."""

from django.contrib import admin

from khutwa.audit.admin import ReadOnlyAdmin
from khutwa.notifications.models import Preference, Sent


@admin.register(Preference)
class PreferenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "by_email", "by_sms", "language", "updated_at")
    list_filter = ("by_email", "by_sms", "language")
    search_fields = ("user__username",)


@admin.register(Sent)
class SentAdmin(ReadOnlyAdmin):
    list_display = ("key", "event", "at")
    search_fields = ("key",)
