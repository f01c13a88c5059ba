"""Reads of the catalogue."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from khutwa.catalogue.calendar import WorkCalendar, make_calendar
from khutwa.catalogue.models import (
    Activity,
    ApprovingBody,
    LicenceTier,
    PublicHoliday,
    Weekday,
)


def activity_list(*, only_active: bool = True) -> QuerySet[Activity]:
    qs = Activity.objects.select_related("category").prefetch_related(
        Prefetch("bodies", queryset=ApprovingBody.objects.order_by("sort_order", "code"))
    )
    return qs.filter(is_active=True) if only_active else qs


def body_list(*, only_active: bool = True) -> QuerySet[ApprovingBody]:
    qs = ApprovingBody.objects.all()
    return qs.filter(is_active=True) if only_active else qs


def tier_list(*, only_active: bool = True) -> QuerySet[LicenceTier]:
    qs = LicenceTier.objects.all()
    return qs.filter(is_active=True) if only_active else qs


def work_calendar() -> WorkCalendar:
    """The configured working week and public holidays."""
    working = Weekday.objects.filter(is_working_day=True).values_list("iso_weekday", flat=True)
    holidays = PublicHoliday.objects.values_list("date", flat=True)
    return make_calendar(list(working), list(holidays))
