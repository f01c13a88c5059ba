"""Retries with exponential backoff, dead letters after the last attempt, and "Run again"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from khutwa.accounts.roles import Role
from khutwa.audit.models import AuditEvent
from khutwa.jobs.models import DeadLetter
from khutwa.jobs.retry import backoff_seconds
from tests.jobs import tasks as test_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_calls():
    test_tasks.CALLS.clear()


def _make_due() -> None:
    """Time passes: every deferred task is due now."""
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())


def test_backoff_doubles_and_is_capped():
    assert [backoff_seconds(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(20, 30) == 3600


def test_a_task_failing_then_succeeding_is_retried_with_backoff(run_tasks):
    test_tasks.flaky.enqueue("twice", 2)
    before = timezone.now()
    assert run_tasks() == 1
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert retry.args_kwargs["kwargs"]["_attempt"] == 2
    assert before + dt.timedelta(seconds=10) <= retry.run_after <= timezone.now() + dt.timedelta(seconds=10)
    assert run_tasks() == 0  # not due yet
    _make_due()
    start = timezone.now()
    assert run_tasks() == 1
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert retry.args_kwargs["kwargs"]["_attempt"] == 3
    assert retry.run_after >= start + dt.timedelta(seconds=20)  # doubled
    _make_due()
    assert run_tasks() == 1
    statuses = list(DBTaskResult.objects.order_by("enqueued_at").values_list("status", flat=True))
    assert statuses == ["FAILED", "FAILED", "SUCCESSFUL"]
    assert DBTaskResult.objects.get(status="SUCCESSFUL").return_value == "twice: done"
    assert not DeadLetter.objects.exists()


def test_a_task_failing_every_attempt_becomes_a_dead_letter(run_tasks):
    test_tasks.flaky.enqueue("always", 99)
    for _ in range(3):
        run_tasks()
        _make_due()
    assert run_tasks() == 0  # nothing more is enqueued after the last attempt
    assert test_tasks.CALLS["always"] == 3
    letter = DeadLetter.objects.get()
    assert letter.task_path == "tests.jobs.tasks.flaky"
    assert letter.args_kwargs == {"args": ["always", 99], "kwargs": {}}
    assert letter.attempts == 3
    assert "always: failure number 3" in letter.last_error
    assert letter.first_failed_at < letter.last_failed_at
    assert letter.replayed_at is None
    assert AuditEvent.objects.filter(action="jobs.task.dead").count() == 1


def test_with_the_immediate_backend_a_failure_is_dead_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    result = test_tasks.flaky.enqueue("immediate", 5)
    assert result.status == TaskResultStatus.FAILED
    assert DeadLetter.objects.get().attempts == 1


def _sysadmin_client(make_user, client):
    user = make_user(Role.SYSADMIN, username="sysadmin", is_staff=True)
    client.force_login(user)
    return client


def test_run_again_from_the_admin_enqueues_the_task_once(make_user, client, run_tasks):
    test_tasks.flaky.enqueue("replay", 3)
    for _ in range(3):
        run_tasks()
        _make_due()
    letter = DeadLetter.objects.get()
    admin = _sysadmin_client(make_user, client)
    page = admin.get("/en/admin/jobs/deadletter/")
    assert page.status_code == 200 and "tests.jobs.tasks.flaky" in page.content.decode()
    action = {"action": "run_again", "_selected_action": [letter.pk]}
    response = admin.post("/en/admin/jobs/deadletter/", action, follow=True)
    assert response.status_code == 200
    letter.refresh_from_db()
    assert letter.replayed_at is not None
    replay = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert replay.args_kwargs == {"args": ["replay", 3], "kwargs": {}}  # attempts counted afresh
    assert AuditEvent.objects.filter(action="jobs.task.replay", actor_username="sysadmin").count() == 1
    # A second "Run again" of the same letter enqueues nothing.
    admin.post("/en/admin/jobs/deadletter/", action, follow=True)
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1
    assert run_tasks() == 1
    assert DBTaskResult.objects.filter(return_value="replay: done").exists()


@pytest.mark.parametrize("role", [None, Role.REGISTRAR])
def test_only_the_system_administrator_runs_dead_letters_again(make_user, client, role):
    letter = DeadLetter.objects.create(
        task_path="tests.jobs.tasks.flaky",
        args_kwargs={"args": ["x", 0], "kwargs": {}},
        attempts=3,
        last_error="boom",
        first_failed_at=timezone.now(),
        last_failed_at=timezone.now(),
    )
    if role is not None:
        client.force_login(make_user(role, username="other", is_staff=True))
    client.post("/en/admin/jobs/deadletter/", {"action": "run_again", "_selected_action": [letter.pk]})
    letter.refresh_from_db()
    assert letter.replayed_at is None
    assert not DBTaskResult.objects.exists()
