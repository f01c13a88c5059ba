"""What a request may carry: one rule per kind of value, checked before anything is looked up
or stored, by every page and API operation.

- ids: ASCII digits only (``"²"`` and Arabic-Indic digits pass ``str.isdigit()`` but are not
  ids) and within the range of the primary-key column (1 to 2**63 - 1);
- dates: ``YYYY-MM-DD`` in ASCII, from 1900-01-01 to 9999-12-31, whatever the column;
- amounts: `khutwa.documents.money.parse_amount` with the limit of the column that stores them;
- list lengths: each list an operation takes has a stated maximum (the API schemas' and the
  services' ``max_length``).

Anything else is a 4xx with the field's name (API) or a form error (page), never a 500.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

#: The largest value of a BigAutoField primary key (and of any id a request may name).
ID_MAX = 2**63 - 1
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(9999, 12, 31)

_ID = re.compile(r"[0-9]{1,19}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_id(value: Any) -> int | None:
    """An id from a path, a form or a query: its int, or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ID.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 1 <= number <= ID_MAX else None


def parse_ids(values: list[str], *, limit: int) -> list[int] | None:
    """Several ids (e.g. the ticked claims of a form): None when one is not an id or when there
    are more than `limit`."""
    if len(values) > limit:
        return None
    ids = [parse_id(v) for v in values]
    return None if any(i is None for i in ids) else [i for i in ids if i is not None]


def parse_count(value: Any, *, limit: int) -> int | None:
    """A small count from a form (rows of a form, an index): 0 to `limit`, ASCII digits."""
    if isinstance(value, str) and value == "0":
        return 0
    number = parse_id(value)
    return number if number is not None and number <= limit else None


def parse_date(value: Any) -> dt.date | None:
    """A date from a form or a query (``YYYY-MM-DD``), or None when it is not one within
    1900-01-01..9999-12-31."""
    if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        return None
    return day if date_in_range(day) else None


def date_in_range(day: dt.date) -> bool:
    return DATE_MIN <= day <= DATE_MAX


class IdConverter:
    """Django's path converter for ids (``<id:pk>``): ASCII digits within the primary key's
    range; any other value matches no page (404), never reaches a query."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(value)
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))
