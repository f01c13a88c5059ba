"""The tasks of the domain apps: the signed PDF after issue, e-mail after commit; recovery of
tasks whose worker was lost; the queue's lag."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from khutwa.documents.models import RenderedFile
from khutwa.jobs.mail import email_on_commit
from khutwa.jobs.models import DeadLetter
from khutwa.jobs.selectors import queue_lag
from khutwa.jobs.services import MAX_LOST_WORKERS, tasks_recover_stalled
from tests.jobs import tasks as test_tasks

pytestmark = pytest.mark.django_db


def test_issuing_enqueues_the_pdf_and_the_download_then_only_reads_it(
    issue, holder, client, run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        document = issue("invoice")
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "khutwa.documents.tasks.document_pdf_render"
    assert queued.args_kwargs["args"] == [str(document.public_id)]
    assert not RenderedFile.objects.filter(document=document).exists()
    assert run_tasks() == 1
    stored = RenderedFile.objects.get(document=document)
    client.force_login(holder)
    with mock.patch("khutwa.documents.pdf.document_pdf_unsigned", side_effect=AssertionError("rendered")):
        response = client.get(f"/en/documents/{document.public_id}/pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content]) == bytes(
        stored.pdf
    )


def test_the_pdf_task_is_idempotent(issue, run_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        document = issue("quotation")
    from khutwa.documents.tasks import document_pdf_render

    document_pdf_render.enqueue(str(document.public_id))  # twice: at least once
    run_tasks()
    assert RenderedFile.objects.filter(document=document).count() == 1
    results = sorted(DBTaskResult.objects.values_list("return_value", flat=True))
    assert results == [False, True]  # the second run found it stored


def test_mail_is_a_task_enqueued_on_commit_and_never_for_a_rollback(
    run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                email_on_commit(subject="rolled back", body="x", recipients=["a@example.bh"])
                raise RuntimeError("rollback")
        except RuntimeError:
            pass
        with transaction.atomic():
            email_on_commit(subject="Khutwa · خطوة", body="نص\n\ntext", recipients=["b@example.bh", ""])
    assert mail.outbox == []
    assert DBTaskResult.objects.get().task_path == "khutwa.jobs.tasks.email_send"
    assert run_tasks() == 1
    assert [(m.subject, m.to, m.body) for m in mail.outbox] == [
        ("Khutwa · خطوة", ["b@example.bh"], "نص\n\ntext")
    ]


def test_a_failing_mail_server_is_retried(run_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email_on_commit(subject="s", body="b", recipients=["c@example.bh"])
    with mock.patch("khutwa.jobs.tasks.send_mail", side_effect=ConnectionRefusedError("smtp down")):
        run_tasks()
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert retry.args_kwargs["kwargs"]["_attempt"] == 2
    retry.run_after = timezone.now()
    retry.save()
    run_tasks()
    assert [m.to for m in mail.outbox] == [["c@example.bh"]]


def _running(started_minutes_ago: float, workers: int = 1) -> DBTaskResult:
    row = test_tasks.wait_for_go.enqueue("/nonexistent").db_result
    row.status = TaskResultStatus.RUNNING
    row.started_at = timezone.now() - dt.timedelta(minutes=started_minutes_ago)
    row.worker_ids = [f"w{i}" for i in range(workers)]
    row.save()
    return row


def test_tasks_running_too_long_are_ready_again(settings):
    settings.KHUTWA_TASK_STALL_SECONDS = 600
    stalled = _running(11)
    busy = _running(9)
    lost_too_often = _running(30, workers=MAX_LOST_WORKERS)
    assert tasks_recover_stalled() == 1
    for row in (stalled, busy, lost_too_often):
        row.refresh_from_db()
    assert stalled.status == TaskResultStatus.READY and stalled.started_at is None
    assert busy.status == TaskResultStatus.RUNNING
    assert lost_too_often.status == TaskResultStatus.FAILED
    letter = DeadLetter.objects.get()
    assert letter.task_path == "tests.jobs.tasks.wait_for_go"
    assert letter.attempts == MAX_LOST_WORKERS


def test_queue_lag_is_the_age_of_the_oldest_waiting_task():
    assert queue_lag() == (0.0, 0)
    now = timezone.now()
    old = test_tasks.flaky.enqueue("a", 0).db_result
    DBTaskResult.objects.filter(pk=old.pk).update(enqueued_at=now - dt.timedelta(seconds=90))
    due = test_tasks.flaky.using(run_after=now - dt.timedelta(seconds=30)).enqueue("b", 0)
    test_tasks.flaky.using(run_after=now + dt.timedelta(hours=1)).enqueue("later", 0)  # not waiting
    _running(1)  # not waiting either
    lag = queue_lag()
    assert lag.waiting == 2
    assert 90 <= lag.seconds < 100
    DBTaskResult.objects.filter(pk=old.pk).delete()
    lag = queue_lag()
    assert lag.waiting == 1 and 30 <= lag.seconds < 40
    assert str(due.id)


def test_each_licence_change_renders_its_certificate_once_and_downloads_read_it(
    world, client, run_tasks, django_capture_on_commit_callbacks
):
    from khutwa.licensing import services as licensing
    from khutwa.licensing.models import CertificateFile

    with django_capture_on_commit_callbacks(execute=True):
        licence = world.licensed(activities=["home-meals"])
    assert DBTaskResult.objects.filter(task_path="khutwa.licensing.tasks.certificate_pdf_render").count() == 1
    assert not CertificateFile.objects.exists()
    run_tasks()
    issued = CertificateFile.objects.get(licence=licence)
    client.force_login(world.applicant)
    url = f"/en/licence/{licence.number}/certificate.pdf"
    with mock.patch("khutwa.licensing.certificate.render_pdfa3", side_effect=AssertionError("rendered")):
        response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content]) == bytes(
        issued.pdf
    )
    # A suspension changes what the certificate shows: rendered again, the old file dropped.
    with django_capture_on_commit_callbacks(execute=True):
        licensing.licence_change_status(
            actor=world.registrar, licence=licence, action="suspend", reason="Complaint"
        )
    run_tasks()
    suspended = CertificateFile.objects.get(licence=licence)
    assert suspended.content_sha256 != issued.content_sha256
    # The same state again renders nothing (the task is idempotent).
    from khutwa.licensing.tasks import certificate_pdf_render

    certificate_pdf_render.enqueue(licence.pk)
    with mock.patch("khutwa.licensing.certificate.render_pdfa3", side_effect=AssertionError("rendered")):
        run_tasks()
    assert DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count() == 0


def test_no_mail_is_left_for_the_worker_where_mail_is_switched_off(
    settings, django_capture_on_commit_callbacks
):
    """The demo data loads with the dummy backend: it e-mails nobody, then or later."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        email_on_commit(subject="s", body="b", recipients=["d@example.bh"])
    assert not DBTaskResult.objects.exists()
