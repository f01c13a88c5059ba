"""Who must prove what, and for how long a login lasts: the one place for these rules.

Officials (anyone holding an official role, or reaching the admin) prove a second factor (TOTP)
and their sessions end after a short idle time; everyone else's last at most
KHUTWA_SESSION_DAYS. Enforced by accounts/middleware.py, the admin site, the portal's login
pages and the API's token and session authentication.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from khutwa.accounts.roles import OFFICIAL_ROLES


def is_official(user: Any) -> bool:
    """Acts for the ministry, an approving body or Tamkeen, or reaches the admin."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or user.has_role(*OFFICIAL_ROLES))


def second_factor_required(user: Any) -> bool:
    """Must this user prove a TOTP code? Waived only for accounts marked so, and only where
    KHUTWA_OTP_EXEMPTIONS allows (never in production: settings refuse to start)."""
    if not is_official(user):
        return False
    return not (user.otp_exempt and settings.KHUTWA_OTP_EXEMPTIONS)


def second_factor_satisfied(user: Any) -> bool:
    """For request.user (after django-otp's middleware): nothing required, or a device verified
    in this session."""
    if not second_factor_required(user):
        return True
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def confirmed_device(user: Any) -> Any:
    """The user's confirmed TOTP device, or None (one per user: enrolment replaces the old)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()
