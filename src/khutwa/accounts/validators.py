from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CPR_RE = re.compile(r"^[0-9]{9}$")


def validate_cpr(value: str) -> None:
    """A Bahraini CPR (personal number): exactly nine digits."""
    if not isinstance(value, str) or not CPR_RE.match(value):
        raise ValidationError(
            _("The CPR number must be exactly 9 digits (for example 850101234)."),
            code="invalid_cpr",
        )


CR_RE = re.compile(r"^[0-9]{1,10}(-[0-9]{1,4})?$")


def validate_cr(value: str) -> None:
    """A Bahraini commercial registration number: digits, then the branch after a dash."""
    if not isinstance(value, str) or not CR_RE.match(value):
        raise ValidationError(
            _("Enter the commercial registration number as digits and branch, for example 145678-1."),
            code="invalid_cr",
        )


VAT_NUMBER_RE = re.compile(r"^[0-9]{15}$")


def validate_vat_number(value: str) -> None:
    """A Bahraini VAT account number (National Bureau for Revenue): exactly 15 digits. EN 16931
    writes it with the country prefix (BH…); the platform stores the 15 digits."""
    if not isinstance(value, str) or not VAT_NUMBER_RE.match(value):
        raise ValidationError(
            _("The VAT account number is exactly 15 digits (for example 200012345600003)."),
            code="invalid_vat_number",
        )


# Digits people type on an Arabic keyboard (Arabic-Indic and Eastern Arabic-Indic) as ASCII.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SEPARATORS = re.compile(r"[\s\-().\u200e\u200f\u202a-\u202e]")


def digits_ascii(text: str) -> str:
    """`text` with Arabic-Indic digits as ASCII, and spaces, dashes, dots and brackets removed."""
    return _SEPARATORS.sub("", text.translate(_DIGITS))


def cpr_check_digit(first_eight: str) -> int:
    """The ninth digit of a CPR number from the first eight: a weighted sum modulo 11 (weights 9
    down to 2), eleven minus the remainder, 10 and 11 counting as 0.

    The Information & eGovernment Authority does not publish its algorithm; this is the scheme
    Khutwa checks at sign-up (KHUTWA_CPR_CHECK_DIGIT turns it off). Numbers that come from the
    national identity (OpenID Connect) are the authority's own and are not checked again."""
    total = sum(int(d) * w for d, w in zip(first_eight, range(9, 1, -1), strict=True))
    return (11 - total % 11) % 11 % 10


def validate_cpr_check_digit(value: str) -> None:
    """A CPR number whose ninth digit matches the first eight (after validate_cpr)."""
    validate_cpr(value)
    if int(value[8]) != cpr_check_digit(value[:8]):
        raise ValidationError(
            _("This CPR number is not valid: check the nine digits on your smart card."),
            code="cpr_check_digit",
        )


MOBILE_RE = re.compile(r"^[36][0-9]{7}$")


def normalise_bahraini_mobile(value: str) -> str:
    """A Bahraini mobile number as +973 and eight digits, from what people type: spaces, dashes,
    Arabic-Indic digits, a leading +973, 00973 or 973. Mobile numbers start with 3 or 6."""
    text = digits_ascii(value or "")
    for prefix in ("+973", "00973"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        if len(text) == 11 and text.startswith("973"):
            text = text[3:]
    if not MOBILE_RE.match(text):
        raise ValidationError(
            _("Enter a Bahraini mobile number: 8 digits starting with 3 or 6, for example 3600 1234."),
            code="invalid_mobile",
        )
    return "+973" + text
