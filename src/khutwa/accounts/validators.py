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
