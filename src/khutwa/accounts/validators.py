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
