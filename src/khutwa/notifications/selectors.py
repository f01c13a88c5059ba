"""Reads: a user's effective preferences, a mobile number fit for SMS, who a customer is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from khutwa.notifications.models import Language, Preference

_BAHRAIN_MOBILE = re.compile(r"^(?:\+?973|00973)?([36]\d{7})$")


def mobile_of(phone: str) -> str:
    """A Bahraini mobile number in E.164 (``+973`` and eight digits starting 3 or 6), or "" when
    the text is not one (spaces and dashes ignored)."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    match = _BAHRAIN_MOBILE.match(digits)
    return f"+973{match.group(1)}" if match else ""


@dataclass(frozen=True)
class Effective:
    """What applies to a user: their stored choice, else the defaults (e-mail on; SMS on only
    once the account has a mobile number; Arabic)."""

    by_email: bool
    by_sms: bool
    language: str
    has_mobile: bool
    stored: bool


def preference_for(user: Any) -> Effective:
    has_mobile = bool(mobile_of(user.phone))
    stored = Preference.objects.filter(user=user).first()
    if stored is None:
        return Effective(
            by_email=True, by_sms=has_mobile, language=Language.ARABIC, has_mobile=has_mobile, stored=False
        )
    return Effective(
        by_email=stored.by_email,
        # A number removed since: nothing to send to.
        by_sms=stored.by_sms and has_mobile,
        language=stored.language,
        has_mobile=has_mobile,
        stored=True,
    )


def customer_account(customer: Any) -> Any:
    """The portal account a customer record is (same CPR, or the verified commercial
    registration), or None: its language is then known."""
    from khutwa.accounts.models import User

    if customer.kind == "individual":
        return User.objects.filter(cpr=customer.cpr).first() if customer.cpr else None
    if not customer.cr_number:
        return None
    return User.objects.filter(
        enterprise__cr_number=customer.cr_number, enterprise__verified_at__isnull=False
    ).first()
