"""The figures on the known data set (conftest): counts, working days, service levels, support;
exact for staff, suppressed for the public; cached."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from khutwa.catalogue.models import PublicHoliday
from khutwa.statistics import selectors
from khutwa.statistics.tables import Table


def cells(table: Table, key: str) -> tuple:
    return next(row.cells for row in table.rows if row.key == key)


def column(table: Table, key: str) -> int:
    return next(i for i, c in enumerate(table.columns) if c.key == key)


def test_applications_by_month_and_status_count_what_was_received_in_the_period(dataset):
    table = selectors.figures_compute().table("applications_by_month")

    assert table.rows[0].key == "2025-07" and table.rows[-1].key == "2026-06"
    march, april = cells(table, "2026-03"), cells(table, "2026-04")
    assert march[column(table, "licence_issued")] == 6 and march[column(table, "total")] == 6
    assert april[column(table, "in_review")] == 3
    assert april[column(table, "rejected")] == 7
    assert table.totals is not None and table.totals[column(table, "total")] == 16  # no draft, nothing older
    assert "draft" not in [c.key for c in table.columns]


def test_by_governorate_activity_and_tier(dataset):
    figures = selectors.figures_compute()

    governorates = figures.table("applications_by_governorate")
    assert cells(governorates, "capital") == (13,) and cells(governorates, "muharraq") == (3,)
    assert governorates.totals == (16,)
    assert cells(figures.table("applications_by_activity"), "sewing-abayas") == (16,)
    tiers = figures.table("licences_by_tier")
    assert cells(tiers, "standard") == (6,) and tiers.totals == (6,)


def test_median_and_90th_percentile_in_working_days_per_body(dataset):
    table = selectors.figures_compute().table("working_days_by_body")

    # 3, 5, 7, 9, 11, 13: the median is the 3rd (nearest rank), the 90th percentile the 6th.
    assert cells(table, "municipality") == (6, 7, 13)
    assert cells(table, "civil-defence") == (6, 7, 13)
    assert cells(table, "food-control") == (2, 3, 5)
    assert cells(table, "all") == (6, 7, 13)


def test_working_days_skip_public_holidays(dataset):
    # The first licence took 3 working days from Sunday 1 March: 2, 3 and 4 March. A holiday on
    # 2 March makes it 2.
    PublicHoliday.objects.create(date=dt.date(2026, 3, 2), name_ar="عطلة", name_en="Holiday")

    table = selectors.figures_compute().table("working_days_by_body")

    assert cells(table, "food-control") == (2, 2, 4)


def test_share_of_reviews_within_the_service_level(dataset):
    table = selectors.figures_compute().table("reviews_within_sla")

    assert cells(table, "municipality") == (6, 5, Decimal("83"))
    assert cells(table, "civil-defence") == (6, 6, Decimal("100"))
    assert cells(table, "food-control") == (2, 2, Decimal("100"))


def test_support_by_programme(dataset):
    table = selectors.figures_compute().table("support_by_programme")

    assert cells(table, "prog-a") == (8, Decimal("700.000"), 2, Decimal("100.000"))
    assert cells(table, "prog-b") == (5, Decimal("200.000"), 5, Decimal("200.000"))
    assert table.totals == (13, Decimal("900.000"), 7, Decimal("300.000"))


def test_public_figures_hide_small_cells_and_what_would_give_them_away(dataset):
    figures = selectors.statistics_public()

    months = figures.table("applications_by_month")
    april = cells(months, "2026-04")
    assert april[column(months, "in_review")] is None  # 3
    assert april[column(months, "rejected")] is None  # 7, else 10 − 7 gives the 3
    assert april[column(months, "total")] == 10
    governorates = figures.table("applications_by_governorate")
    assert cells(governorates, "muharraq") == (None,) and cells(governorates, "capital") == (None,)
    assert governorates.totals == (16,)
    days = figures.table("working_days_by_body")
    assert cells(days, "food-control") == (None, None, None)
    assert cells(days, "municipality") == (6, 7, 13)
    support = figures.table("support_by_programme")
    assert cells(support, "prog-a") == (8, Decimal("700.000"), None, None)
    assert cells(support, "prog-b") == (5, Decimal("200.000"), None, None)  # 7 − 5 would give the 2
    assert support.totals == (13, Decimal("900.000"), 7, Decimal("300.000"))


def test_staff_dashboards_read_the_backlog_and_the_budgets(dataset):
    backlog, waiting = selectors.statistics_registrar()
    assert cells(backlog, "municipality") == (3, 2)
    assert cells(waiting, "in_review") == (3,) and waiting.totals == (3,)

    _support, budgets = selectors.statistics_tamkeen()
    a = cells(budgets, "prog-a")
    assert a[:4] == (8, 8, 0, 0)
    assert a[4:] == (Decimal("10000.000"), Decimal("600.000"), Decimal("100.000"), Decimal("7.0"))


def test_second_read_comes_from_the_cache(dataset, django_assert_max_num_queries, django_assert_num_queries):
    with django_assert_max_num_queries(40):
        first = selectors.statistics_public()

    # The cached figures: one read of the cache table, no aggregate.
    with django_assert_num_queries(1):
        again = selectors.statistics_public()
    assert again == first


def test_figures_are_aggregated_in_the_database_not_per_row(dataset, django_assert_max_num_queries):
    from khutwa.licensing.models import Application

    rows_before = Application.objects.count()
    with django_assert_max_num_queries(30) as queries:
        selectors.figures_compute()
    # The same number of queries however many applications there are.
    from tests.statistics.conftest import application

    for _ in range(20):
        application(dataset.user, status="rejected", submitted=dataset_time())
    assert Application.objects.count() == rows_before + 20
    with django_assert_max_num_queries(len(queries)):
        selectors.figures_compute()


def dataset_time():
    from tests.statistics.conftest import TODAY, at

    return at(TODAY - dt.timedelta(days=3))


def test_months_are_bahrain_months(dataset):
    import datetime as dt

    from tests.statistics.conftest import BAHRAIN, application

    # 01:00 on 1 May in Bahrain is still 30 April in UTC: it counts in May.
    for _ in range(5):
        application(dataset.user, status="rejected", submitted=dt.datetime(2026, 5, 1, 1, tzinfo=BAHRAIN))

    table = selectors.figures_compute().table("applications_by_month")

    assert cells(table, "2026-05")[column(table, "rejected")] == 5
    assert cells(table, "2026-04")[column(table, "rejected")] == 7
