"""Webhook reads, and object access: an integrator reaches only its own subscriptions."""

from __future__ import annotations

import re

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from khutwa.accounts.models import User
from khutwa.errors import NotFound
from khutwa.webhooks.models import Delivery, Subscription

#: What an event id looks like (`services.event_id_new`); anything else is not looked up.
EVENT_ID = re.compile(r"msg_[0-9A-Za-z]{1,36}")


def subscriptions_of(user: User) -> QuerySet[Subscription]:
    return Subscription.objects.filter(owner=user).order_by("id")


def get_subscription_for(user: User, subscription_id: int) -> Subscription:
    """The caller's own subscription; anyone else's is not found (404, never 403)."""
    found = subscriptions_of(user).filter(pk=subscription_id).first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


def deliveries_of(subscription: Subscription, *, status: str = "") -> QuerySet[Delivery]:
    rows = subscription.deliveries.select_related("event").order_by("-id")
    return rows.filter(status=status) if status else rows


def get_delivery_for(user: User, delivery_id: int) -> Delivery:
    found = (
        Delivery.objects.select_related("event", "subscription")
        .filter(pk=delivery_id, subscription__owner=user)
        .first()
    )
    if found is None:
        raise NotFound(_("Not found."))
    return found


def deliveries_of_event_for(user: User, event_id: str) -> list[Delivery]:
    """The caller's deliveries of this event (webhook-id); none is 404."""
    if not EVENT_ID.fullmatch(event_id):
        raise NotFound(_("Not found."))
    rows = list(
        Delivery.objects.select_related("event", "subscription")
        .filter(event__event_id=event_id, subscription__owner=user)
        .order_by("pk")
    )
    if not rows:
        raise NotFound(_("Not found."))
    return rows


def any_subscriber_sql(holder_id_sql: str) -> str:
    """SQL of a truth value: some active subscription may receive an event about the holder
    whose id `holder_id_sql` gives (a Tamkeen subscription, or one of the holder's own). When
    it is false `services.events_emit` stores nothing, so a caller that reads it in a statement
    it runs anyway (documents.scope) skips emitting at no cost."""
    table = Subscription._meta.db_table
    return (
        f'EXISTS (SELECT 1 FROM "{table}" sub WHERE sub."is_active" AND '  # noqa: S608 - our table
        f"(sub.\"audience\" = '{Subscription.Audience.TAMKEEN.value}' OR "
        f'(sub."audience" = \'{Subscription.Audience.HOLDER.value}\' AND sub."owner_id" = {holder_id_sql})))'
    )
