"""The task that sends one webhook delivery, enqueued when the event's transaction commits."""

from __future__ import annotations

from django_tasks import task

from khutwa.webhooks.services import deliver, deliver_due


@task(queue_name="webhooks")
def deliver_webhook(delivery_id: int) -> str:
    """Attempt the delivery if it is due; retries are the delivery's own schedule (its
    next_attempt_at), sent by `deliver_due`, not the task system's."""
    delivery = deliver(delivery_id)
    return delivery.status if delivery is not None else "skipped"


@task(queue_name="webhooks")
def deliveries_due() -> int:
    """Send every delivery whose next attempt has come (the retries' schedule); run every
    minute by `khutwa scheduler`. Workers claim deliveries, so overlapping runs send each once."""
    return deliver_due()
