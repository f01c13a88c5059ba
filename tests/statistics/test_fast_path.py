"""The fast computation (local days in SQL, working days from an index) against a
straightforward one (each row's timestamps converted in Python, days counted one by one) on
random data: random hours around midnight in Bahrain and UTC, across public holidays."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict

from django.utils import timezone

from khutwa.approvals.models import Review
from khutwa.catalogue.calendar import WorkCalendar
from khutwa.catalogue.models import PublicHoliday
from khutwa.catalogue.selectors import work_calendar
from khutwa.licensing.models import Application, Licence
from khutwa.statistics import selectors
from khutwa.statistics.expressions import fixed_offset_minutes
from tests.statistics.conftest import BAHRAIN, TODAY, application, review


def _random_moment(rng: random.Random, first: dt.date, last: dt.date) -> dt.datetime:
    day = first + dt.timedelta(days=rng.randint(0, (last - first).days))
    # Hours near both midnights (Bahrain's and UTC's, 03:00 in Bahrain) most of the time.
    hour = rng.choice([0, 1, 2, 3, 4, 12, 20, 21, 22, 23])
    return dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59)), tzinfo=BAHRAIN)


def _percentiles(values: list[int]) -> tuple[int, int | None, int | None]:
    if not values:
        return 0, None, None
    ordered = sorted(values)

    def rank(share: float) -> int:
        return ordered[max(1, math.ceil(share * len(ordered))) - 1]

    return len(ordered), rank(0.5), rank(0.9)


def _reference(first: dt.date, calendar: WorkCalendar) -> dict[str, tuple]:
    """Row by row in Python: the licence's and the application's local days, counted."""
    start = dt.datetime.combine(first, dt.time.min, tzinfo=BAHRAIN)
    by_body: dict[str, list[int]] = defaultdict(list)
    every: list[int] = []
    for app in Application.objects.filter(kind="new", status="licence_issued", licence__issued_at__gte=start):
        days = calendar.working_days_between(
            timezone.localtime(app.submitted_at).date(), timezone.localtime(app.licence.issued_at).date()
        )
        every.append(days)
        for code in {r.body.code for r in Review.objects.filter(application=app)}:
            by_body[code].append(days)
    out = {code: _percentiles(values) for code, values in by_body.items()}
    out["all"] = _percentiles(every)
    return out


def _reference_sla(first: dt.date) -> dict[str, tuple[int, int]]:
    start = dt.datetime.combine(first, dt.time.min, tzinfo=BAHRAIN)
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in Review.objects.filter(decided_at__gte=start, status__in=selectors.DECIDED_REVIEW_STATUSES):
        out[r.body.code][0] += 1
        out[r.body.code][1] += timezone.localtime(r.decided_at).date() <= r.due_date
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_fast_figures_equal_a_row_by_row_computation_on_random_data(dataset):
    rng = random.Random(20261201)
    first = selectors._first_month(TODAY)
    for day in rng.sample(range(300), 15):
        PublicHoliday.objects.get_or_create(
            date=first + dt.timedelta(days=day), defaults={"name_en": "H", "name_ar": "ع"}
        )
    for i in range(60):
        submitted = _random_moment(rng, first - dt.timedelta(days=40), TODAY - dt.timedelta(days=45))
        issued = submitted + dt.timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23))
        app = application(dataset.user, status="licence_issued", submitted=submitted, kind="new")
        licence = Licence.objects.create(
            number=f"KH-2026-{5000 + i:06d}",
            cpr=app.cpr,
            name_ar=app.name_ar,
            name_en=app.name_en,
            trade_name=app.trade_name,
            tier=app.tier,
            valid_from=issued.date(),
            valid_until=issued.date() + dt.timedelta(days=364),
            issued_at=issued,
            building=app.building,
            road=app.road,
            block=app.block,
            area=app.area,
            governorate=app.governorate,
            address_key=app.address_key,
        )
        Application.objects.filter(pk=app.pk).update(licence=licence)
        decided = submitted + dt.timedelta(hours=rng.randint(0, 200))
        due = timezone.localtime(decided).date() + dt.timedelta(days=rng.choice([-1, 0, 0, 1]))
        for body in rng.sample(["municipality", "civil-defence", "food-control"], rng.randint(1, 3)):
            review(app, body, status="approved", started=submitted.date(), due=due, decided=decided)
    calendar = work_calendar()

    table = selectors.working_days_by_body(first, calendar)
    expected = _reference(first, calendar)
    for row in table.rows:
        assert row.cells == expected.get(row.key, (0, None, None)), row.key

    sla = selectors.reviews_within_sla(first)
    expected_sla = _reference_sla(first)
    for row in sla.rows:
        assert row.cells[:2] == expected_sla.get(row.key, (0, 0)), row.key


def test_working_day_index_counts_as_the_calendar_does():
    rng = random.Random(7)
    start = dt.date(2026, 1, 1)
    holidays = frozenset(start + dt.timedelta(days=rng.randint(0, 120)) for _ in range(12))
    calendar = WorkCalendar(holidays=holidays)
    index = selectors.working_day_index(calendar, start, start + dt.timedelta(days=120))
    for _ in range(300):
        a, b = sorted(start + dt.timedelta(days=rng.randint(0, 120)) for _ in range(2))
        assert index[b] - index[a] == calendar.working_days_between(a, b)


def test_bahrain_has_a_fixed_offset_and_a_daylight_saving_zone_has_not():
    assert fixed_offset_minutes("Asia/Bahrain") == 180
    assert fixed_offset_minutes("UTC") == 0
    assert fixed_offset_minutes("Europe/London") is None
