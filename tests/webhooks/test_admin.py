"""System administrators see every subscription, create one for an integrator (the secret shown
once) and replay deliveries from the admin; an integrator does not reach it."""

from __future__ import annotations

import pytest

from khutwa.accounts.roles import Role
from khutwa.webhooks.models import Delivery, Subscription
from khutwa.webhooks.services import deliver_due, ping_send
from tests.webhooks.test_events import subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def sysadmin(make_user):  # type: ignore[no-untyped-def]
    return make_user(Role.SYSADMIN, is_staff=True)


def test_the_administrator_creates_a_subscription_for_an_integrator(client, sysadmin, make_user, receiver):
    holder = make_user(Role.HOLDER)
    client.force_login(sysadmin)
    assert client.get("/en/admin/webhooks/subscription/").status_code == 200
    response = client.post(
        "/en/admin/webhooks/subscription/add/",
        {
            "organisation": "ERP",
            "url": receiver.url,
            "event_types": ["licence.suspended"],
            "owner": holder.pk,
        },
        follow=True,
    )
    subscription = Subscription.objects.get()
    assert subscription.owner == holder and subscription.audience == "holder"
    assert subscription.secret in response.content.decode()  # shown this once
    change = client.get(f"/en/admin/webhooks/subscription/{subscription.pk}/change/")
    assert change.status_code == 200 and subscription.secret not in change.content.decode()
    assert receiver.url in change.content.decode() and 'name="url"' not in change.content.decode()


def test_the_admin_refuses_a_bad_subscription_naming_the_field(client, sysadmin, make_user, receiver):
    applicant = make_user(Role.APPLICANT)
    client.force_login(sysadmin)
    response = client.post(
        "/en/admin/webhooks/subscription/add/",
        {
            "organisation": "ERP",
            "url": receiver.url,
            "event_types": ["licence.suspended"],
            "owner": applicant.pk,
        },
    )
    assert response.status_code == 200 and "may not subscribe" in response.content.decode()
    assert not Subscription.objects.exists()


def test_the_administrator_replays_a_delivery(client, sysadmin, make_user, receiver):
    holder = make_user(Role.HOLDER)
    subscription = subscribe(holder, receiver, ["licence.suspended"])
    delivery = ping_send(actor=holder, subscription=subscription)
    deliver_due()
    client.force_login(sysadmin)
    assert client.get("/en/admin/webhooks/delivery/").status_code == 200
    client.post(
        "/en/admin/webhooks/delivery/", {"action": "replay", "_selected_action": [delivery.pk]}, follow=True
    )
    assert Delivery.objects.get().status == "pending"
    deliver_due()
    assert receiver.ids() == [delivery.event.event_id] * 2


def test_an_integrator_does_not_reach_the_webhooks_admin(client, make_user):
    client.force_login(make_user(Role.TAMKEEN_OFFICER, is_staff=True))
    assert client.get("/en/admin/webhooks/subscription/").status_code == 403
