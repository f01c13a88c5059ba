"""Database expressions of the statistics that stay native on SQLite.

Django's ``TruncDate`` of an aware timestamp calls a Python function for every row on SQLite
(SQLite has no time zones): at 100,000 applications that was most of a cold computation.
Asia/Bahrain has kept one offset from UTC since 1972, so on SQLite the local date is
``date(ts, '+180 minutes')``, computed by SQLite itself. A zone with daylight saving (another
TIME_ZONE) falls back to Django's conversion; PostgreSQL converts natively either way.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models.functions import TruncDate


@functools.lru_cache(maxsize=8)
def fixed_offset_minutes(tzname: str) -> int | None:
    """The zone's offset from UTC in minutes if it has been the same on the first and the
    fifteenth of every month since 1990 (no daylight saving, no change of offset), else None."""
    zone = ZoneInfo(tzname)
    offsets = {
        dt.datetime(year, month, day, 12, tzinfo=zone).utcoffset() or dt.timedelta()
        for year in range(1990, 2101)
        for month in range(1, 13)
        for day in (1, 15)
    }
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds()) // 60


class LocalDate(TruncDate):
    """The date of a timestamp in the current time zone (as ``TruncDate``), natively on SQLite."""

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, Any]:
        tzname = self.get_tzname()
        minutes = fixed_offset_minutes(tzname) if tzname else 0
        if minutes is None:
            return super().as_sql(compiler, connection, **extra_context)
        sql, params = compiler.compile(self.lhs)
        return f"date({sql}, %s)", (*params, f"{minutes:+d} minutes")
