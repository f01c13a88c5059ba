from typing import cast

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from khutwa.accounts.forms import AdminPasswordChangeForm, password_admin
from khutwa.accounts.models import ApiToken, User
from khutwa.accounts.services import api_tokens_revoke_all, otp_devices_reset
from khutwa.audit.admin import AuditedModelAdmin


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "cpr", "body", "is_staff", "is_active")
    list_filter = ("groups", "body", "is_staff", "is_active")
    search_fields = ("username", "first_name", "last_name", "name_ar", "cpr", "email")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Khutwa"), {"fields": ("cpr", "name_ar", "phone", "body", "otp_exempt")}),
    )
    readonly_fields = ("otp_exempt",)
    change_password_form = AdminPasswordChangeForm
    actions = ["revoke_api_tokens", "reset_second_factor"]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # The form saves through accounts.services.password_set, which names the administrator.
        token = password_admin.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            password_admin.reset(token)

    @admin.action(description=_("Revoke their API tokens"), permissions=["change"])
    def revoke_api_tokens(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = cast(User, request.user)
        count = 0
        for user in queryset:
            count += api_tokens_revoke_all(user=user, actor=actor, reason="revoked by an administrator")
        self.message_user(
            request,
            ngettext("%(count)d API token revoked.", "%(count)d API tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Reset their authenticator app (they set it up again)"), permissions=["change"]
    )
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            otp_devices_reset(user=user, actor=cast(User, request.user))
        self.message_user(request, _("They will set up their authenticator app at their next login."))


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    list_display = ("prefix", "user", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("user", "key_hash", "prefix", "created_at", "expires_at")
    exclude = ("key_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
