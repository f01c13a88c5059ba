import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khutwa.catalogue.calendar import WorkCalendar

BAHRAIN = WorkCalendar()
SUNDAY = dt.date(2026, 11, 29)


def test_ten_working_days_from_a_sunday_end_on_the_second_sunday_after():
    # Mon..Thu (4) + Sun..Thu (5) + Sun (1) = 10
    assert BAHRAIN.add_working_days(SUNDAY, 10) == dt.date(2026, 12, 13)


def test_friday_and_saturday_are_skipped():
    thursday = dt.date(2026, 12, 3)
    assert BAHRAIN.add_working_days(thursday, 1) == dt.date(2026, 12, 6)  # Sunday


def test_public_holidays_are_skipped():
    calendar = WorkCalendar(holidays=frozenset({dt.date(2026, 12, 16), dt.date(2026, 12, 17)}))
    tuesday = dt.date(2026, 12, 15)
    assert calendar.add_working_days(tuesday, 1) == dt.date(2026, 12, 20)


def test_working_days_between_counts_the_end_not_the_start():
    assert BAHRAIN.working_days_between(SUNDAY, SUNDAY) == 0
    assert BAHRAIN.working_days_between(SUNDAY, dt.date(2026, 12, 6)) == 5


def test_an_empty_week_is_refused():
    with pytest.raises(ValueError):
        WorkCalendar(working_weekdays=frozenset())


@given(
    start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31)),
    days=st.integers(min_value=0, max_value=60),
    holidays=st.sets(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2031, 6, 30)), max_size=20),
)
def test_adding_then_counting_gives_back_the_days(start, days, holidays):
    calendar = WorkCalendar(holidays=frozenset(holidays))
    end = calendar.add_working_days(start, days)
    assert calendar.working_days_between(start, end) == days
    if days:
        assert calendar.is_working_day(end)
