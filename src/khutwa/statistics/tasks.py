"""The statistics' scheduled job: the figures recomputed before the cache expires."""

from __future__ import annotations

from django_tasks import task


@task()
def statistics_refresh_periodic() -> int:
    from khutwa.statistics.selectors import statistics_refresh

    return statistics_refresh()
