"""The login forms of the portal and the admin: they say so when django-axes locked the login,
with the minutes to wait, in the user's language."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm

from khutwa.accounts.lockout import lockout_message, request_lockout_wait
from khutwa.accounts.security import confirmed_device, second_factor_required


class LockoutMessageMixin:
    request: Any
    cleaned_data: dict[str, Any]

    def get_invalid_login_error(self) -> ValidationError:
        wait = request_lockout_wait(self.request, self.cleaned_data.get("username"))
        if wait is not None:
            return ValidationError(lockout_message(wait), code="locked_out")
        return super().get_invalid_login_error()  # type: ignore[misc]


class LoginForm(LockoutMessageMixin, AuthenticationForm):
    """The portal's login (the first step; staff then give their code, portal/views_auth.py)."""


class AdminLoginForm(LockoutMessageMixin, OTPAdminAuthenticationForm):
    """The admin's login: password and, for staff who need it, the code of their TOTP device in
    the same form (the device is the user's one confirmed TOTP device: no choice to make)."""

    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "dir": "ltr"}),
    )

    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": _("Enter the code from your authenticator app."),
        "invalid_token": _("The code is wrong or has expired."),
        "device_required": _("Set up your authenticator app first: log in on the portal."),
    }

    def clean(self) -> dict[str, Any]:
        self.cleaned_data = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None and second_factor_required(user):
            if confirmed_device(user) is None:
                raise ValidationError(self.otp_error_messages["device_required"], code="device_required")
            self.clean_otp(user)
        return self.cleaned_data

    def _chosen_device(self, user: Any) -> Any:
        return confirmed_device(user)


class ServicePasswordMixin:
    """Password forms (change, reset, the admin's) save through accounts.services.password_set,
    which also revokes the user's API tokens and writes the audit event."""

    cleaned_data: dict[str, Any]
    change_kind = "change"

    def password_actor(self, user: Any) -> Any:
        return user

    def set_password_and_save(
        self,
        user: Any,
        password_field_name: str = "password1",  # noqa: S107 - a field's name
        commit: bool = True,
    ) -> Any:
        from khutwa.accounts.services import password_set

        if not self.cleaned_data.get("set_usable_password", True):
            password = None
        else:
            password = self.cleaned_data[password_field_name]
        return password_set(
            user=user, password=password, actor=self.password_actor(user), reason=self.change_kind
        )


class PasswordChangeForm(ServicePasswordMixin, auth_forms.PasswordChangeForm):
    change_kind = "change"


class SetPasswordForm(ServicePasswordMixin, auth_forms.SetPasswordForm):
    change_kind = "reset"


# The administrator who is changing someone's password (set by the user admin's view).
password_admin: ContextVar[Any] = ContextVar("khutwa_password_admin", default=None)


class AdminPasswordChangeForm(ServicePasswordMixin, auth_forms.AdminPasswordChangeForm):
    change_kind = "set by an administrator"

    def password_actor(self, user: Any) -> Any:
        return password_admin.get()
