"""The scheduler's slots in Asia/Bahrain, each claimed once, and its jobs."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tasks_db.models import DBTaskResult

from khutwa.jobs.models import ScheduledRun
from khutwa.jobs.schedule import JOBS, Job
from khutwa.jobs.scheduler import scheduler_tick, slot_of

BAHRAIN = zoneinfo.ZoneInfo("Asia/Bahrain")
DAILY = {job.name: job for job in JOBS if job.at is not None}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BAHRAIN)


def test_the_daily_jobs_run_at_their_times_in_bahrain():
    times = {name: job.at for name, job in DAILY.items()}
    assert (
        times.items()
        >= {
            "expire_licences": dt.time(0, 5),
            "expire_support": dt.time(0, 10),
            "review_reminders": dt.time(7, 0),
        }.items()
    )
    expire = DAILY["expire_licences"]
    assert slot_of(expire, at("2026-12-02T00:05")) == at("2026-12-02T00:05")
    assert slot_of(expire, at("2026-12-02T00:04")) == at("2026-12-01T00:05")  # yesterday's
    # 00:05 in Bahrain is 21:05 UTC the day before.
    utc = dt.datetime(2026, 12, 1, 21, 6, tzinfo=dt.UTC)
    assert slot_of(expire, utc) == at("2026-12-02T00:05")


def test_periodic_slots_are_whole_periods():
    every5 = Job("x", "khutwa.jobs.tasks.tasks_recover", every_minutes=5)
    assert slot_of(every5, at("2026-12-02T13:07:59")) == at("2026-12-02T13:05")
    every1 = Job("y", "khutwa.jobs.tasks.tasks_recover", every_minutes=1)
    assert slot_of(every1, at("2026-12-02T13:07:59")) == at("2026-12-02T13:07")


@pytest.mark.django_db
def test_each_slot_is_started_once():
    first = scheduler_tick(now=at("2026-12-02T07:01"))
    assert {r.job for r in first} == {job.name for job in JOBS}
    assert {r.slot for r in first if r.job in DAILY} == {
        at(f"2026-12-02T{DAILY[r.job].at}") for r in first if r.job in DAILY
    }
    paths = set(DBTaskResult.objects.values_list("task_path", flat=True))
    assert paths == {job.task for job in JOBS if not job.inline}
    assert scheduler_tick(now=at("2026-12-02T07:01:40")) == []  # same minute, same day
    later = scheduler_tick(now=at("2026-12-02T07:02"))
    every_minute = {job.name for job in JOBS if job.every_minutes == 1}
    assert every_minute >= {"recover_stalled_tasks", "webhooks_deliver_due"}
    assert {r.job for r in later} == every_minute  # only the next minute's jobs
    next_day = {r.job for r in scheduler_tick(now=at("2026-12-03T00:11"))}
    # (and the statistics, refreshed every four minutes: 00:08 is a new slot)
    assert next_day == {"expire_licences", "expire_support", "statistics_refresh"} | every_minute
    assert ScheduledRun.objects.filter(job="expire_licences").count() == 2
    assert DBTaskResult.objects.filter(task_path=DAILY["expire_licences"].task).count() == 2


@pytest.mark.django_db
def test_the_command_runs_once_at_the_given_time(capsys):
    # (not its reconnection before each look: it would close the test's transaction)
    with mock.patch("khutwa.jobs.management.commands.scheduler.close_old_connections"):
        call_command("scheduler", "--once", "--now", "2026-12-02T07:00")
    out = capsys.readouterr().out
    assert "review_reminders 2026-12-02T07:00:00+03:00" in out
    assert ScheduledRun.objects.filter(job="review_reminders", slot=at("2026-12-02T07:00")).exists()


def test_a_bad_time_is_refused_naming_the_option():
    with pytest.raises(CommandError, match="--now: not an ISO date-time"):
        call_command("scheduler", "--once", "--now", "tomorrow")


def test_the_worker_refuses_the_immediate_backend_saying_what_to_set(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with pytest.raises(CommandError, match="KHUTWA_TASKS_BACKEND=database"):
        call_command("worker", "--batch")
