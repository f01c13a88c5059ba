"""The login forms of the portal and the admin: they say so when django-axes locked the login,
with the minutes to wait, in the user's language."""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm

from khutwa.accounts.lockout import lockout_message, request_lockout_wait
from khutwa.accounts.security import confirmed_device, second_factor_required
from khutwa.accounts.validators import (
    digits_ascii,
    normalise_bahraini_mobile,
    validate_cpr,
    validate_cpr_check_digit,
)


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


_ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z .'\-]*$")


class SignupForm(forms.Form):
    """A citizen's or resident's own account: one page, every field explained, each error next
    to its field (portal/templates/registration/signup.html also lists them at the top)."""

    cpr = forms.CharField(
        label=_("CPR number"),
        max_length=30,
        help_text=_("The nine digits on your smart card. It will also be your username."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "dir": "ltr"}),
    )
    name_ar = forms.CharField(
        label=_("Full name in Arabic"),
        max_length=200,
        help_text=_("As on your smart card, in Arabic letters."),
        widget=forms.TextInput(attrs={"autocomplete": "name", "dir": "rtl", "lang": "ar"}),
    )
    first_name = forms.CharField(
        label=_("Given name in English"),
        max_length=150,
        help_text=_("In English letters, as in your passport."),
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "dir": "ltr", "lang": "en"}),
    )
    last_name = forms.CharField(
        label=_("Family name in English"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name", "dir": "ltr", "lang": "en"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=30,
        help_text=_("A Bahraini mobile, for example 3600 1234. We send a code to confirm it."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "dir": "ltr"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("We send a link to confirm it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "dir": "ltr"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=password_validation.password_validators_help_text_html,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "dir": "ltr"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        help_text=_("Type the same password, to be sure of it."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "dir": "ltr"}),
    )

    def clean_cpr(self) -> str:
        from khutwa.accounts.models import User
        from khutwa.accounts.services import cpr_taken_message

        cpr = digits_ascii(self.cleaned_data["cpr"])
        if settings.KHUTWA_CPR_CHECK_DIGIT:
            validate_cpr_check_digit(cpr)
        else:
            validate_cpr(cpr)
        if User.objects.filter(Q(cpr=cpr) | Q(username=cpr)).exists():
            raise ValidationError(cpr_taken_message(), code="cpr_taken")
        return cpr

    def clean_name_ar(self) -> str:
        name = " ".join(self.cleaned_data["name_ar"].split())
        if not _ARABIC_LETTER.search(name) or re.search(r"[A-Za-z0-9]", name):
            raise ValidationError(_("Write your name in Arabic letters."), code="name_ar")
        return name

    def _latin_name(self, field: str) -> str:
        name = " ".join(self.cleaned_data[field].split())
        if not _LATIN_NAME.match(name):
            raise ValidationError(_("Write your name in English letters."), code="name_en")
        return name

    def clean_first_name(self) -> str:
        return self._latin_name("first_name")

    def clean_last_name(self) -> str:
        return self._latin_name("last_name")

    def clean_phone(self) -> str:
        return normalise_bahraini_mobile(self.cleaned_data["phone"])

    def clean_email(self) -> str:
        return clean_email_address(self.cleaned_data["email"])

    def clean(self) -> dict[str, Any]:
        from khutwa.accounts.models import User

        data = super().clean() or {}
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", ValidationError(_("The two passwords differ."), code="mismatch"))
        elif password1:
            candidate = User(
                username=data.get("cpr") or "",
                cpr=data.get("cpr"),
                first_name=data.get("first_name") or "",
                last_name=data.get("last_name") or "",
                email=data.get("email") or "",
                name_ar=data.get("name_ar") or "",
            )
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data

    def to_kwargs(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            "cpr": data["cpr"],
            "name_ar": data["name_ar"],
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "phone": data["phone"],
            "email": data["email"],
            "password": data["password1"],
        }


def clean_email_address(value: str, *, owner: Any = None) -> str:
    """The address with its domain in lower case; refused when another account uses it."""
    from khutwa.accounts.models import User
    from khutwa.accounts.services import email_taken_message

    email = value.strip()
    local, _sep, domain = email.rpartition("@")
    email = f"{local}@{domain.lower()}"
    others = User.objects.filter(email__iexact=email)
    if owner is not None:
        others = others.exclude(pk=owner.pk)
    if others.exists():
        raise ValidationError(email_taken_message(), code="email_taken")
    return email


class ContactForm(forms.Form):
    """Changing the e-mail address or the mobile number (accounts.services.contact_change): the
    current password is asked, and what changes must be confirmed again."""

    email = SignupForm.base_fields["email"]
    phone = SignupForm.base_fields["phone"]
    password = forms.CharField(
        label=_("Your current password"),
        strip=False,
        help_text=_("To be sure it is you."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "dir": "ltr"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"email": user.email, "phone": user.phone})
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        return clean_email_address(self.cleaned_data["email"], owner=self.user)

    def clean_phone(self) -> str:
        return normalise_bahraini_mobile(self.cleaned_data["phone"])


class PhoneCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the text message"),
        max_length=20,
        help_text=_("Six digits."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "dir": "ltr"}),
    )

    def clean_code(self) -> str:
        code = digits_ascii(self.cleaned_data["code"])
        if not re.fullmatch(r"[0-9]{6}", code):
            raise ValidationError(_("Enter the six digits of the code."), code="code")
        return code
