"""How people's names and amounts are shown on pages, one rule each (docs/look.md).

- Names in the page's language: the Arabic name on Arabic pages, the English one on English
  pages, each falling back to the other (and a user to the user name).
- Amounts grouped by thousands with three decimals (fils): 49,675.000, with Western digits and
  a decimal point in both languages, as the sealed documents, the PDFs and the API write them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import get_language


def is_arabic() -> bool:
    return not (get_language() or "ar").startswith("en")


def name_in_language(name_ar: str, name_en: str, fallback: str = "") -> str:
    """The name in the active language, else the other one, else `fallback`."""
    name_ar, name_en = (name_ar or "").strip(), (name_en or "").strip()
    first, second = (name_ar, name_en) if is_arabic() else (name_en, name_ar)
    return first or second or fallback


def display_name(obj: Any) -> str:
    """Anything with `name_ar` and `name_en` (or a user: `name_ar` and first/last name)."""
    if obj is None:
        return ""
    if hasattr(obj, "get_full_name"):
        return name_in_language(
            getattr(obj, "name_ar", ""), obj.get_full_name(), getattr(obj, "username", "")
        )
    if hasattr(obj, "name_ar") or hasattr(obj, "name_en"):
        return name_in_language(getattr(obj, "name_ar", ""), getattr(obj, "name_en", ""))
    return str(obj)


FILS = Decimal("0.001")


def amount(value: Any) -> str:
    """A BHD amount as shown on every page: "49,675.000"; what is not a number comes back as is."""
    if value is None or value == "":
        return ""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).replace(",", ""))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    return f"{number.quantize(FILS, rounding=ROUND_HALF_UP):,.3f}"
