"""The admin site: django-otp's OTPAdminSite, so that staff reach it only after proving their
second factor in this session (at the admin's login, or the portal's); accounts whose second
factor is waived (the demo's, in development only) with their password alone."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from khutwa.accounts.forms import AdminLoginForm
from khutwa.accounts.security import second_factor_satisfied


class KhutwaAdminSite(OTPAdminSite):
    login_form = AdminLoginForm
    login_template = "admin/khutwa_login.html"
    # Khutwa's name in the admin, in the page's language.
    site_header = _("Khutwa administration")
    site_title = _("Khutwa")
    index_title = _("Khutwa: registry, documents and support")

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def has_permission(self, request: HttpRequest) -> bool:
        return AdminSite.has_permission(self, request) and second_factor_satisfied(request.user)

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # One page changes passwords, and revokes the user's API tokens with it.
        return redirect("portal:password_change")
