"""The figures refreshed by the scheduler before they expire, so that a visitor reads them from
the cache; and at a miss, computed once while the other requests serve the previous figures."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache

from khutwa.jobs.schedule import JOBS
from khutwa.jobs.scheduler import scheduler_tick
from khutwa.statistics import selectors
from khutwa.statistics.tasks import statistics_refresh_periodic

REFRESH = next(job for job in JOBS if job.name == "statistics_refresh")


def test_the_scheduler_refreshes_the_statistics_before_they_expire(settings):
    assert REFRESH.task == "khutwa.statistics.tasks.statistics_refresh_periodic"
    assert not REFRESH.inline  # a worker computes them, not the scheduler
    assert REFRESH.every_minutes is not None
    assert REFRESH.every_minutes * 60 < settings.KHUTWA_STATISTICS_CACHE_SECONDS


@pytest.mark.django_db
def test_the_scheduler_enqueues_the_refresh(settings):
    import datetime as dt
    import zoneinfo

    from django_tasks_db.models import DBTaskResult

    scheduler_tick(now=dt.datetime(2026, 12, 2, 7, 1, tzinfo=zoneinfo.ZoneInfo("Asia/Bahrain")))
    assert DBTaskResult.objects.filter(task_path=REFRESH.task).count() == 1


def test_after_the_refresh_a_visitor_computes_nothing(dataset, monkeypatch, django_assert_num_queries):
    selectors.statistics_forget()
    assert statistics_refresh_periodic.call() == 4

    def computed(*args, **kwargs):
        raise AssertionError("a visitor computed the figures")

    monkeypatch.setattr(selectors, "figures_compute", computed)
    monkeypatch.setattr(selectors, "_registrar_compute", computed)
    monkeypatch.setattr(selectors, "_tamkeen_compute", computed)
    with django_assert_num_queries(4):  # one cache read each
        public = selectors.statistics_public()
        selectors.statistics_figures()
        selectors.statistics_registrar()
        selectors.statistics_tamkeen()
    assert public.table("applications_by_month").totals is not None


def test_a_refresh_replaces_figures_still_in_the_cache(dataset):
    from tests.statistics.conftest import TODAY, application, at

    before = selectors.statistics_figures()
    for _ in range(5):
        application(dataset.user, status="rejected", submitted=at(TODAY))
    assert selectors.statistics_figures() == before  # cached
    selectors.statistics_refresh()
    after = selectors.statistics_figures().table("applications_by_month").totals
    assert after is not None and before.table("applications_by_month").totals is not None
    assert after[-1] == before.table("applications_by_month").totals[-1] + 5


def test_at_a_miss_others_serve_the_previous_figures_while_one_computes(dataset, monkeypatch):
    previous = selectors.statistics_public()
    _due_until, value, stamp = cache.get(selectors.PUBLIC_KEY)
    cache.set(selectors.PUBLIC_KEY, (0.0, value, stamp))  # due for a refresh
    assert cache.add(f"{selectors.PUBLIC_KEY}:lock", 1)  # another request is computing them

    def computed(*args, **kwargs):
        raise AssertionError("computed twice")

    monkeypatch.setattr(selectors, "figures_publishable", computed)
    assert selectors.statistics_public() == previous


def test_at_a_miss_with_no_previous_figures_others_wait_for_the_computation(dataset, monkeypatch):
    fresh = selectors.figures_publishable(selectors.figures_compute())
    selectors.statistics_forget()
    assert cache.add(f"{selectors.PUBLIC_KEY}:lock", 1)  # another request is computing them
    waited: list[float] = []

    def other_request_finishes(seconds: float) -> None:
        waited.append(seconds)
        if len(waited) == 3:
            cache.set(selectors.PUBLIC_KEY, (time.time() + 60, fresh, "another"))

    def computed(*args, **kwargs):
        raise AssertionError("computed twice")

    monkeypatch.setattr(selectors.time, "sleep", other_request_finishes)
    monkeypatch.setattr(selectors, "figures_publishable", computed)
    assert selectors.statistics_public() == fresh
    assert len(waited) == 3


def test_concurrent_requests_at_a_miss_compute_once(settings, monkeypatch):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "refresh"}
    }
    calls: list[int] = []

    def slow_compute() -> tuple[str, ...]:
        calls.append(1)
        time.sleep(0.5)
        return ("figures",)

    monkeypatch.setattr(selectors, "_registrar_compute", slow_compute)
    results: list[tuple] = []
    threads = [
        threading.Thread(target=lambda: results.append(selectors.statistics_registrar())) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [("figures",)] * 6
