"""How people's names and amounts are shown on pages, one rule each (docs/look.md).

- Names in the page's language: the Arabic name on Arabic pages, the English one on English
  pages, each falling back to the other (and a user to the user name).
- A field's choice in the page's language: ``choice_label(obj, "status")`` is
  ``obj.get_status_display()`` from a map built once per process, model field and language
  (Django rebuilds the field's choices dict and translates every label on each call: a list page
  of 25 rows did it 25 times, about 230 translations per page).
- Amounts grouped by thousands with three decimals (fils): 49,675.000, with Western digits and
  a decimal point in both languages, as the sealed documents, the PDFs and the API write them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db.models import Model
from django.utils.translation import get_language


def is_arabic() -> bool:
    return not (get_language() or "ar").startswith("en")


def name_in_language(name_ar: str, name_en: str, fallback: str = "", *, arabic: bool | None = None) -> str:
    """The name in the active language, else the other one, else `fallback` (`arabic`: the
    language already looked up by a caller that names many rows)."""
    name_ar, name_en = (name_ar or "").strip(), (name_en or "").strip()
    first, second = (name_ar, name_en) if (is_arabic() if arabic is None else arabic) else (name_en, name_ar)
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


_CHOICE_LABELS: dict[tuple[type[Model], str, str], dict[Any, str]] = {}


def choice_labels(model: type[Model], field_name: str) -> dict[Any, str]:
    """Value → label of a field's choices in the active language, built once per language."""
    key = (model, field_name, get_language() or "")
    labels = _CHOICE_LABELS.get(key)
    if labels is None:
        field = model._meta.get_field(field_name)
        labels = {value: str(label) for value, label in field.flatchoices}  # type: ignore[union-attr]
        _CHOICE_LABELS[key] = labels
    return labels


def choice_label(obj: Any, field_name: str) -> Any:
    """What ``obj.get_<field_name>_display()`` shows: the label of its value, or the value itself
    when it is not one of the choices (as Django does)."""
    value = getattr(obj, field_name)
    try:
        return choice_labels(type(obj), field_name).get(value, value)
    except TypeError:  # an unhashable value is no choice
        return value


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
