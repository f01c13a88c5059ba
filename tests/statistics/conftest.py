"""A small known data set, written straight to the tables (dates chosen, services bypassed),
on a frozen day: 2026-06-15 in Bahrain, so the period runs from July 2025 to June 2026."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from khutwa.accounts.models import User
from khutwa.approvals.models import Review
from khutwa.catalogue.models import Activity, ApprovingBody, Governorate, LicenceTier
from khutwa.catalogue.selectors import work_calendar
from khutwa.licensing.models import Application, Licence
from khutwa.support.models import Programme, SupportApplication

BAHRAIN = ZoneInfo("Asia/Bahrain")
TODAY = dt.date(2026, 6, 15)
#: The working days from submission to licence of the six licences (municipality, civil defence).
DURATIONS = [3, 5, 7, 9, 11, 13]
_seq = itertools.count(1)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=BAHRAIN)


@dataclass
class Dataset:
    user: User
    names: list[str] = field(default_factory=list)
    cprs: list[str] = field(default_factory=list)


def application(
    user: User, *, status: str, submitted: dt.datetime | None, governorate: str = "capital", **extra
) -> Application:
    n = next(_seq)
    app = Application.objects.create(
        reference=f"APP-STAT-{n:05d}",
        status=status,
        filed_by=user,
        applicant=user,
        cpr=f"95{n:07d}",
        name_ar=f"شخص رقم {n}",
        name_en=f"Person Number{n}",
        name_search=f"person number{n}",
        phone="33123456",
        trade_name=f"Kitchen {n}",
        tier=LicenceTier.objects.get(code="standard"),
        building=str(n),
        road="1",
        block="101",
        area="Juffair",
        governorate=Governorate.objects.get(code=governorate),
        address_key=f"stat|{n}",
        created_at=submitted or at(TODAY),
        submitted_at=submitted,
        **extra,
    )
    app.activities.add(Activity.objects.get(code="sewing-abayas"))
    return app


def review(
    app: Application, body: str, *, status: str, started: dt.date, due: dt.date, decided=None
) -> Review:
    b = ApprovingBody.objects.get(code=body)
    return Review.objects.create(
        application=app,
        body=b,
        status=status,
        started_on=started,
        sla_working_days=b.sla_working_days,
        due_date=due,
        decided_at=decided,
    )


@pytest.fixture
def frozen():
    # The URLs (and the API's schemas, which pydantic builds from the datetime class) are loaded
    # before the clock is frozen: freezegun's datetime class has no pydantic schema.
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - loads them
    with freeze_time(at(TODAY, 12)):
        yield


@pytest.fixture
def dataset(db, frozen, make_user) -> Dataset:
    user = make_user("applicant", cpr="880000001", first_name="Zainab", last_name="Alqattan")
    data = Dataset(user=user)
    calendar = work_calendar()
    submitted = dt.date(2026, 3, 1)  # a Sunday
    # Six new licences, 3 to 13 working days after submission; reviewed by the municipality and
    # civil defence (five of six municipality reviews within the service level), two also by
    # food control.
    for i, days in enumerate(DURATIONS):
        licensed_on = calendar.add_working_days(submitted, days)
        app = application(user, status="licence_issued", submitted=at(submitted), kind="new")
        licence = Licence.objects.create(
            number=f"KH-2026-{900 + i:06d}",
            cpr=app.cpr,
            name_ar=app.name_ar,
            name_en=app.name_en,
            trade_name=app.trade_name,
            tier=app.tier,
            valid_from=licensed_on,
            valid_until=licensed_on + dt.timedelta(days=364),
            issued_at=at(licensed_on, 11),
            building=app.building,
            road=app.road,
            block=app.block,
            area=app.area,
            governorate=app.governorate,
            address_key=app.address_key,
        )
        Application.objects.filter(pk=app.pk).update(licence=licence)
        decided = calendar.add_working_days(submitted, 2)
        due = decided if i < 5 else calendar.previous_working_day(decided)
        on_time = {"status": "approved", "started": submitted, "due": decided, "decided": at(decided)}
        review(app, "municipality", **{**on_time, "due": due})
        review(app, "civil-defence", **on_time)
        if i < 2:
            review(app, "food-control", **on_time)
        data.names += [app.name_ar, app.name_en]
        data.cprs.append(app.cpr)
    # Three in review in Muharraq (two of their municipality reviews overdue), seven rejected in
    # the capital, all submitted in April; a draft and an application from before the period.
    for i in range(3):
        app = application(user, status="in_review", submitted=at(dt.date(2026, 4, 5)), governorate="muharraq")
        due = TODAY - dt.timedelta(days=1) if i < 2 else TODAY + dt.timedelta(days=3)
        review(app, "municipality", status="pending", started=dt.date(2026, 4, 5), due=due)
        data.cprs.append(app.cpr)
    for _ in range(7):
        application(user, status="rejected", submitted=at(dt.date(2026, 4, 6)))
    application(user, status="draft", submitted=None)
    application(user, status="rejected", submitted=at(dt.date(2025, 5, 4)))
    # Tamkeen: programme A has 6 approved (100.000 each) and 2 paid (50.000 each); B 5 paid.
    a = _programme("prog-a", "برنامج أ", "Programme A")
    b = _programme("prog-b", "برنامج ب", "Programme B")
    for programme, status, amount, count in (
        (a, "approved", "100.000", 6),
        (a, "paid", "50.000", 2),
        (b, "paid", "40.000", 5),
    ):
        for _ in range(count):
            SupportApplication.objects.create(
                reference=f"TMK-STAT-{next(_seq):05d}",
                programme=programme,
                beneficiary=user,
                status=status,
                entitlement=Decimal(amount),
                created_at=at(dt.date(2026, 5, 3)),
            )
    Programme.objects.filter(pk=a.pk).update(reserved=Decimal("600.000"), paid=Decimal("100.000"))
    return data


def _programme(code: str, ar: str, en: str) -> Programme:
    return Programme.objects.create(
        code=code,
        name_ar=ar,
        name_en=en,
        kind="equipment",
        open_from=dt.date(2026, 1, 1),
        budget=Decimal("10000.000"),
        rate=Decimal("0.500"),
    )
