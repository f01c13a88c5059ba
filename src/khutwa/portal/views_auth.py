"""Logging in (password, then staff's TOTP code), setting up the authenticator app, and
changing or resetting a password. Thin: the forms and services in accounts decide."""

from __future__ import annotations

import base64
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from khutwa.accounts.forms import LoginForm, PasswordChangeForm, SetPasswordForm
from khutwa.accounts.oidc import logout_url, oidc_enabled
from khutwa.accounts.security import confirmed_device, second_factor_required, second_factor_satisfied
from khutwa.accounts.services import otp_check, otp_device_confirm, otp_device_prepare
from khutwa.errors import Refused
from khutwa.portal.access import me


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # "Log in with the national identity", when configured (accounts/oidc.py).
        context["national_identity"] = oidc_enabled()
        context["identity_next"] = context.get("next") or reverse("portal:home")
        return context


class LogoutView(auth_views.LogoutView):
    """Ends the local session; a session that came from the national identity then goes to the
    provider's logout (RP-initiated logout), which sends the browser back to the home page."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        provider_logout = logout_url(request)  # read before the session is flushed
        response = super().post(request, *args, **kwargs)
        if provider_logout:
            return redirect(provider_logout)
        return response


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("portal:home")


def _verified(request: HttpRequest, device: Any) -> HttpResponse:
    otp_login(request, device)
    # A new session id for the session that now carries both factors.
    request.session.cycle_key()
    return redirect(_next(request))


@never_cache
@sensitive_post_parameters("otp")
@login_required
def otp_verify(request: HttpRequest) -> HttpResponse:
    """The second step of a staff login: the code of their authenticator app."""
    user = me(request)
    if second_factor_satisfied(request.user):
        return redirect(_next(request))
    if confirmed_device(user) is None:
        return redirect(f"{reverse('portal:otp_setup')}?next={_next(request)}")
    error = ""
    if request.method == "POST":
        code = request.POST.get("otp", "").strip()
        try:
            device = otp_check(user=user, code=code) if code else None
        except Refused as exc:
            error = str(exc.message)
        else:
            if device is not None:
                return _verified(request, device)
            error = (
                _("The code is wrong or has expired.")
                if code
                else _("Enter the code from your authenticator app.")
            )
    return render(request, "registration/otp_verify.html", {"error": error, "next": _next(request)})


@never_cache
@sensitive_post_parameters("otp")
@login_required
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Staff without a device set one up before anything else: scan, then prove it with a code."""
    user = me(request)
    if not second_factor_required(user) or second_factor_satisfied(request.user):
        return redirect(_next(request))
    if confirmed_device(user) is not None:
        return redirect(f"{reverse('portal:otp_verify')}?next={_next(request)}")
    device = otp_device_prepare(user=user)
    error = ""
    if request.method == "POST":
        code = request.POST.get("otp", "").strip()
        if not code:
            error = _("Enter the code from your authenticator app.")
        elif otp_device_confirm(user=user, device=device, code=code):
            messages.success(request, _("Your authenticator app is set up."))
            return _verified(request, device)
        else:
            error = _("The code is wrong or has expired.")
    qr = segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#212529", light="#ffffff")
    context = {
        "error": error,
        "next": _next(request),
        "qr": qr,
        # For typing into the app by hand: the key as the app shows it (base 32, in groups).
        "secret": base64.b32encode(device.bin_key).decode("ascii").rstrip("="),
    }
    return render(request, "registration/otp_setup.html", context)


# The password pages' templates live in registration/portal/: django.contrib.admin and
# django.contrib.auth come earlier in INSTALLED_APPS and ship templates under Django's default
# names (registration/password_reset_form.html...), which would be found first.


class PasswordChangeView(auth_views.PasswordChangeView):
    """Every user changes their own password here (the admin's link leads here too). Saving
    revokes their API tokens and ends their other sessions (accounts.services.password_set)."""

    form_class = PasswordChangeForm
    template_name = "registration/portal/password_change_form.html"
    success_url = reverse_lazy("portal:home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(
            self.request,
            _("Your password has been changed. Your other sessions and API tokens have ended."),
        )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """The e-mail is in Arabic, then English (subject and body), whatever the page's language;
    nothing says whether the address belongs to an account."""

    template_name = "registration/portal/password_reset_form.html"
    subject_template_name = "registration/portal/password_reset_subject.txt"
    email_template_name = "registration/portal/password_reset_email.txt"
    success_url = reverse_lazy("portal:password_reset_done")
    title = gettext_lazy("Reset your password")

    @property
    def extra_email_context(self) -> dict[str, Any]:
        # Links use the configured site, never the request's Host header.
        return {"site_url": settings.KHUTWA_SITE_URL}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/portal/password_reset_done.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "timeout_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        }


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm
    template_name = "registration/portal/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password_reset_complete")
    post_reset_login = False


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/portal/password_reset_complete.html"
