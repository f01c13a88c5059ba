"""Issuing reads whether any webhook subscription may want the document's events in its scope
statement (issue 13): with none, no event is stored and no subscription is queried; a
subscription written at any time after, by any writer (the service, the admin, another
process: nothing is cached), receives the next document's event."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from khutwa.accounts.models import User
from khutwa.webhooks.models import Delivery, Event, Subscription

pytestmark = pytest.mark.django_db


def _subscription(owner: User, audience: str = "holder", **kw: object) -> Subscription:
    """Written straight to the table, as any other writer than the webhook services would."""
    values: dict[str, object] = {
        "organisation": "ERP",
        "url": "https://erp.example.com/hook",
        "secret": "whsec_dGVzdA==",
        "event_types": ["document.issued"],
        "audience": audience,
        "owner": owner,
    }
    values.update(kw)
    return Subscription.objects.create(**values)


def _issued_events() -> list[str]:
    return list(Event.objects.filter(type="document.issued").values_list("object_id", flat=True))


def test_with_no_subscription_issuing_stores_no_event_and_queries_none(issue):
    issue("invoice")
    with CaptureQueriesContext(connection) as captured:
        issue("invoice")
    subscription_reads = [
        q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert len(subscription_reads) == 1  # the scope statement, and no other read
    assert Event.objects.count() == 0


def test_a_subscription_added_after_issuing_began_receives_the_next_document(issue, holder):
    first = issue("invoice")  # the scope statement is built and run once already
    subscription = _subscription(holder)
    second = issue("invoice")
    assert _issued_events() == [str(second.public_id)]
    assert Delivery.objects.get().subscription == subscription
    assert str(first.public_id) not in _issued_events()


def test_a_deactivated_subscription_stops_receiving_at_once(issue, holder):
    subscription = _subscription(holder)
    kept = issue("invoice")
    Subscription.objects.filter(pk=subscription.pk).update(is_active=False)
    issue("invoice")
    assert _issued_events() == [str(kept.public_id)]


def test_another_holders_subscription_does_not_make_issuing_emit(issue, holder):
    other = User.objects.exclude(pk=holder.pk).first()
    _subscription(other)
    issue("invoice")
    assert Event.objects.count() == 0


def test_a_tamkeen_subscription_receives_the_tamkeen_customers_documents(issue, holder):
    """The fixture's customer is a Tamkeen customer: Tamkeen's subscriptions want its documents
    (and an inactive one is as good as none)."""
    tamkeen = User.objects.exclude(pk=holder.pk).first()
    _subscription(tamkeen, audience="tamkeen", is_active=False)
    issue("invoice", tamkeen_application_number="TMK-1")
    assert Event.objects.count() == 0
    _subscription(tamkeen, audience="tamkeen")
    document = issue("invoice", tamkeen_application_number="TMK-2")
    assert _issued_events() == [str(document.public_id)]
