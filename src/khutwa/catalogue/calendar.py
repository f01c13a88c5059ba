"""Working-day arithmetic for service clocks (pure functions; the calendar is passed in).

A clock that starts on day D counts working days after D: a target of 10 working days
from a Sunday ends on the second Thursday after, holidays and rest days skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class WorkCalendar:
    working_weekdays: frozenset[int] = frozenset({7, 1, 2, 3, 4})  # ISO: Sunday..Thursday
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.working_weekdays:
            raise ValueError("a calendar needs at least one working weekday")

    def is_working_day(self, day: dt.date) -> bool:
        return day.isoweekday() in self.working_weekdays and day not in self.holidays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date on which `days` working days after `start` have passed."""
        if days < 0:
            raise ValueError("days must not be negative")
        current = start
        remaining = days
        while remaining:
            current += ONE_DAY
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: 0 when end is not after start."""
        count = 0
        current = start
        while current < end:
            current += ONE_DAY
            if self.is_working_day(current):
                count += 1
        return count

    def previous_working_day(self, day: dt.date) -> dt.date:
        current = day - ONE_DAY
        while not self.is_working_day(current):
            current -= ONE_DAY
        return current


def make_calendar(working_weekdays: Collection[int], holidays: Collection[dt.date]) -> WorkCalendar:
    return WorkCalendar(frozenset(working_weekdays), frozenset(holidays))
