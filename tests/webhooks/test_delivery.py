"""Sending: retries on the delivery's own schedule, per-object ordering, replay with the same
webhook-id, no redirects, short error snippets, one sender per delivery, the task and command."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from standardwebhooks import Webhook

from khutwa.accounts.roles import Role
from khutwa.licensing.services import licence_change_status
from khutwa.webhooks import services
from khutwa.webhooks.models import Delivery
from khutwa.webhooks.services import BACKOFF, deliver, deliver_due, ping_send
from tests.webhooks.test_events import subscribe

pytestmark = pytest.mark.django_db

NO_JITTER = lambda: 1.0  # noqa: E731


@pytest.fixture
def integrator(make_user):  # type: ignore[no-untyped-def]
    return make_user(Role.HOLDER)


def test_the_backoff_covers_24_hours_and_then_the_delivery_fails(integrator, receiver):
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    receiver.stop()  # the receiver is down: connections are refused
    delivery = ping_send(actor=integrator, subscription=subscription)
    now = timezone.now()
    waits = []
    for _ in range(len(BACKOFF) + 1):
        assert deliver_due(now, jitter=NO_JITTER) == 1
        delivery.refresh_from_db()
        if delivery.status == "failed":
            break
        waits.append(delivery.next_attempt_at - now)
        # Nothing is sent before its time.
        assert deliver_due(delivery.next_attempt_at - dt.timedelta(seconds=1), jitter=NO_JITTER) == 0
        now = delivery.next_attempt_at
    assert waits == [
        dt.timedelta(seconds=5),
        dt.timedelta(minutes=5),
        dt.timedelta(minutes=30),
        dt.timedelta(hours=2),
        dt.timedelta(hours=5),
        dt.timedelta(hours=10),
    ]
    assert sum(waits, dt.timedelta()) * 1.1 < dt.timedelta(hours=24)  # jitter included
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 7, None)
    assert "ConnectionError" in delivery.last_error and delivery.last_status_code is None
    assert deliver_due(now + dt.timedelta(days=2)) == 0


def test_jitter_spreads_each_wait_by_at_most_a_tenth(integrator, receiver):
    receiver.stop()
    now = timezone.now()
    seen = set()
    for _ in range(5):
        # Pings to one subscription are about one object: each waits for the one before.
        subscription = subscribe(integrator, receiver, ["licence.suspended"])
        delivery = ping_send(actor=integrator, subscription=subscription, now=now)
        deliver(delivery.pk, now=now)
        delivery.refresh_from_db()
        wait = (delivery.next_attempt_at - now).total_seconds()
        assert 4.5 <= wait <= 5.5
        seen.add(wait)
    assert len(seen) > 1


def test_a_receiver_back_up_gets_the_message_with_its_id(integrator, receiver):
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    port = receiver.port
    receiver.stop()
    delivery = ping_send(actor=integrator, subscription=subscription)
    now = timezone.now()
    for _ in range(3):
        deliver_due(now, jitter=NO_JITTER)
        delivery.refresh_from_db()
        now = delivery.next_attempt_at
    assert delivery.failures == 3 and delivery.status == "pending"
    receiver.port = port
    receiver.start()
    assert deliver_due(now) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 4, 204)
    assert delivery.delivered_at == now and delivery.next_attempt_at is None
    assert receiver.ids() == [delivery.event.event_id] and receiver.received[0]["verified"]
    assert receiver.types() == ["ping"]


def test_a_failed_answer_keeps_only_a_snippet(integrator, receiver):
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    receiver.fail_next = 1
    delivery = ping_send(actor=integrator, subscription=subscription)
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.last_status_code == 500 and delivery.status == "pending"
    assert delivery.last_error.startswith("HTTP 500: boom") and len(delivery.last_error) <= 210


def test_redirects_are_not_followed(integrator, receivers):
    receiver, elsewhere = receivers(), receivers()
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    receiver.redirect_to = elsewhere.url
    delivery = ping_send(actor=integrator, subscription=subscription)
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.last_status_code == 302 and delivery.status == "pending" and delivery.failures == 1
    assert len(receiver.received) == 1 and elsewhere.received == []


def test_replay_sends_the_same_event_id_again(integrator, receiver):
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    delivery = ping_send(actor=integrator, subscription=subscription)
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    services.delivery_replay(actor=integrator, delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert deliver_due() == 1
    first, second = receiver.received
    assert first["id"] == second["id"] == delivery.event.event_id
    assert first["body"] == second["body"]  # the same bytes: receivers drop the duplicate
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_events_for_one_object_go_out_in_order(world, receiver):
    licence = world.licensed(activities=["sewing-abayas"])
    subscription = subscribe(world.applicant, receiver, ["licence.suspended", "licence.reinstated"])
    licence_change_status(actor=world.registrar, licence=licence, action="suspend", reason="x")
    licence_change_status(actor=world.registrar, licence=licence, action="reinstate", reason="y")
    ping_send(actor=world.applicant, subscription=subscription)  # another object
    _suspended, reinstated = Delivery.objects.filter(event__type__startswith="licence.").order_by("event_id")
    receiver.fail_next = 1  # the first attempt (the suspension) fails
    now = timezone.now()
    assert deliver_due(now, jitter=NO_JITTER) == 2  # the suspension (failed) and the ping
    assert receiver.types() == ["licence.suspended", "ping"]
    # The reinstatement is due, but waits behind the suspension of the same licence...
    assert deliver(reinstated.pk, now=now) is None
    assert deliver_due(now + dt.timedelta(seconds=4), jitter=NO_JITTER) == 0
    # ...and follows it once it is delivered.
    assert deliver_due(now + dt.timedelta(seconds=5), jitter=NO_JITTER) == 2
    assert receiver.types() == ["licence.suspended", "ping", "licence.suspended", "licence.reinstated"]
    assert Delivery.objects.filter(status="delivered").count() == 3


def test_a_failed_delivery_no_longer_holds_back_the_next(world, receiver):
    licence = world.licensed(activities=["sewing-abayas"])
    subscribe(world.applicant, receiver, ["licence.suspended", "licence.reinstated"])
    licence_change_status(actor=world.registrar, licence=licence, action="suspend", reason="x")
    licence_change_status(actor=world.registrar, licence=licence, action="reinstate", reason="y")
    suspended = Delivery.objects.get(event__type="licence.suspended")
    suspended.status = "failed"
    suspended.save()
    assert deliver_due() == 1 and receiver.types() == ["licence.reinstated"]


def test_a_delivery_leased_to_one_sender_is_not_sent_by_another(integrator, receiver):
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    delivery = ping_send(actor=integrator, subscription=subscription)
    now = timezone.now()
    assert services._claim(services._due(now), now, 10) == [delivery.pk]  # a worker took it
    assert deliver_due(now) == 0 and deliver(delivery.pk, now=now) is None  # others leave it
    assert receiver.received == []
    # A worker that died while sending: after the lease the delivery is sent again.
    assert deliver_due(now + services.LEASE) == 1 and len(receiver.received) == 1


def test_the_event_is_enqueued_as_a_task_once_committed(
    integrator, receiver, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = ping_send(actor=integrator, subscription=subscription)
    assert not DBTaskResult.objects.exists()  # nothing before the commit
    for callback in callbacks:
        callback()
    task = DBTaskResult.objects.get()
    assert task.queue_name == "webhooks" and task.args_kwargs["args"] == [delivery.pk]
    assert task.task_path == "khutwa.webhooks.tasks.deliver_webhook"


def test_the_task_sends_the_delivery(integrator, receiver, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "webhooks"],
        }
    }
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    with django_capture_on_commit_callbacks(execute=True):
        delivery = ping_send(actor=integrator, subscription=subscription)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and receiver.types() == ["ping"]


def test_the_command_sends_what_is_due(integrator, receiver, capsys):
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    ping_send(actor=integrator, subscription=subscription)
    call_command("webhooks_deliver")
    assert "1 webhook deliveries attempted" in capsys.readouterr().out
    assert receiver.types() == ["ping"]


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(integrator, receiver):
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    old = receiver.secrets[0]
    subscription, new = services.subscription_rotate_secret(actor=integrator, subscription=subscription)
    assert new != old and new.startswith("whsec_")
    receiver.secrets = [new]
    ping_send(actor=integrator, subscription=subscription)
    deliver_due()
    message = receiver.received[-1]
    assert message["verified"]
    Webhook(old).verify(message["body"], message["headers"])  # the receiver not yet switched
    subscription.previous_secret_until = timezone.now() - dt.timedelta(seconds=1)
    subscription.save()
    ping_send(actor=integrator, subscription=subscription)
    deliver_due()
    assert len(receiver.received[-1]["headers"]["webhook-signature"].split(" ")) == 1


def test_a_url_that_became_unacceptable_is_not_called(integrator, receiver, settings):
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    delivery = ping_send(actor=integrator, subscription=subscription)
    settings.IS_PRODUCTION = True  # http to the loopback is for development only
    deliver_due()
    delivery.refresh_from_db()
    assert receiver.received == [] and delivery.failures == 1 and "https" in delivery.last_error


def test_the_scheduler_sends_what_is_due_every_minute(integrator, receiver, settings):
    """The scheduler's webhook job (khutwa.jobs.schedule) runs deliver_due: retries are sent
    without anyone running the command."""
    from django.utils.module_loading import import_string

    from khutwa.jobs.schedule import JOBS

    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "webhooks"],
        }
    }
    job = next(job for job in JOBS if job.name == "webhooks_deliver_due")
    assert job.every_minutes == 1
    subscription = subscribe(integrator, receiver, ["licence.suspended"])
    ping_send(actor=integrator, subscription=subscription)
    import_string(job.task).enqueue()
    assert receiver.types() == ["ping"]
