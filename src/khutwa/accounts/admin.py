from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from khutwa.accounts.models import ApiToken, User
from khutwa.audit.admin import AuditedModelAdmin


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "cpr", "body", "is_staff", "is_active")
    list_filter = ("groups", "body", "is_staff", "is_active")
    search_fields = ("username", "first_name", "last_name", "name_ar", "cpr", "email")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Khutwa"), {"fields": ("cpr", "name_ar", "phone", "body")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    list_display = ("prefix", "user", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("user", "key_hash", "prefix", "created_at", "expires_at")
    exclude = ("key_hash",)

    def has_add_permission(self, request):
        return False
