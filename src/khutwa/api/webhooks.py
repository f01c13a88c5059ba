"""Webhooks over HTTP: an integrator's subscriptions, their deliveries, replay, ping
(docs/integration.md). Only licence holders and Tamkeen's officers and finance staff hold
subscriptions; each sees only its own (anyone else's is 404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from khutwa.accounts.models import User
from khutwa.api.auth import AUTH
from khutwa.api.schemas import CursorPageIn, ListOut, PageIn, PageOut, Problem, cursor_page_of, page_of
from khutwa.webhooks import events, selectors, services
from khutwa.webhooks.models import Delivery, DeliveryStatus, Subscription

router = Router(tags=["webhooks"])
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem}


class SubscriptionIn(Schema):
    organisation: str = Field(..., max_length=200, description="who receives: Tamkeen, a bank, an ERP")
    url: str = Field(..., max_length=500, description="https (http only to the loopback in development)")
    event_types: list[str] = Field(..., max_length=50, description="see GET /webhooks/event-types")


class SubscriptionOut(Schema):
    id: int
    organisation: str
    url: str
    event_types: list[str]
    audience: str = Field(..., description="tamkeen | holder: which events reach it")
    is_active: bool
    created_at: dt.datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(..., description="whsec_…: shown only now; verify signatures with it")


class SecretOut(Schema):
    id: int
    secret: str = Field(..., description="the new secret, shown only now; the old one signs too for 24 hours")
    previous_secret_until: dt.datetime


class EventTypeOut(Schema):
    type: str
    description: str


class DeliveryOut(Schema):
    id: int
    subscription: int
    event_id: str = Field(..., description="the webhook-id header: de-duplicate on it")
    event_type: str
    object: str
    status: str = Field(..., description="pending | delivered | failed")
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class DeliveryFilter(CursorPageIn):
    status: str = Field("", max_length=10, description="pending | delivered | failed")
    limit: int = Field(100, ge=1, le=500)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def subscription_out(s: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=s.pk,
        organisation=s.organisation,
        url=s.url,
        event_types=list(s.event_types),
        audience=s.audience,
        is_active=s.is_active,
        created_at=s.created_at,
    )


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.pk,
        subscription=d.subscription_id,
        event_id=d.event.event_id,
        event_type=d.event.type,
        object=d.object_key,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )


@router.get(
    "/event-types",
    response={200: ListOut[EventTypeOut], **ERRORS},
    auth=AUTH,
    summary="The event types the caller may subscribe to",
)
def event_types(request: HttpRequest) -> dict[str, Any]:
    audience = events.audience_of(_user(request))
    allowed = events.ALLOWED.get(audience or "", frozenset())
    items = [EventTypeOut(type=k, description=str(v)) for k, v in events.EVENT_TYPES.items() if k in allowed]
    return {"items": items, "count": len(items)}


@router.post(
    "/subscriptions",
    response={201: SubscriptionCreated, **ERRORS},
    auth=AUTH,
    summary="Subscribe a URL to event types; the secret is in this answer only",
)
def subscription_create(request: HttpRequest, payload: SubscriptionIn) -> tuple[int, SubscriptionCreated]:
    subscription, secret = services.subscription_create(
        actor=_user(request),
        organisation=payload.organisation,
        url=payload.url,
        event_types=payload.event_types,
    )
    return 201, SubscriptionCreated(**subscription_out(subscription).dict(), secret=secret)


@router.get(
    "/subscriptions",
    response={200: ListOut[SubscriptionOut], **ERRORS},
    auth=AUTH,
    summary="Your subscriptions",
)
def subscription_list(request: HttpRequest, page: Query[PageIn]) -> dict[str, Any]:
    return page_of(selectors.subscriptions_of(_user(request)), page, subscription_out)


@router.get("/subscriptions/{subscription_id}", response={200: SubscriptionOut, **ERRORS}, auth=AUTH)
def subscription_get(request: HttpRequest, subscription_id: int) -> SubscriptionOut:
    return subscription_out(selectors.get_subscription_for(_user(request), subscription_id))


@router.delete(
    "/subscriptions/{subscription_id}",
    response={204: None, **ERRORS},
    auth=AUTH,
    summary="Delete a subscription (its pending deliveries are dropped)",
)
def subscription_delete(request: HttpRequest, subscription_id: int) -> tuple[int, None]:
    user = _user(request)
    services.subscription_delete(
        actor=user, subscription=selectors.get_subscription_for(user, subscription_id)
    )
    return 204, None


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    response={200: SecretOut, **ERRORS},
    auth=AUTH,
    summary="A new secret; messages are signed with both for 24 hours",
)
def subscription_rotate(request: HttpRequest, subscription_id: int) -> SecretOut:
    user = _user(request)
    subscription, secret = services.subscription_rotate_secret(
        actor=user, subscription=selectors.get_subscription_for(user, subscription_id)
    )
    assert subscription.previous_secret_until is not None  # noqa: S101 - set by the rotation
    return SecretOut(
        id=subscription.pk, secret=secret, previous_secret_until=subscription.previous_secret_until
    )


@router.post(
    "/subscriptions/{subscription_id}/ping",
    response={202: DeliveryOut, **ERRORS},
    auth=AUTH,
    summary="Send a `ping` event to this subscription",
)
def subscription_ping(request: HttpRequest, subscription_id: int) -> tuple[int, DeliveryOut]:
    user = _user(request)
    delivery = services.ping_send(
        actor=user, subscription=selectors.get_subscription_for(user, subscription_id)
    )
    return 202, delivery_out(delivery)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response={200: PageOut[DeliveryOut], **ERRORS},
    auth=AUTH,
    summary="The delivery log of a subscription, newest first",
)
def delivery_list(
    request: HttpRequest, subscription_id: int, filters: Query[DeliveryFilter]
) -> dict[str, Any]:
    subscription = selectors.get_subscription_for(_user(request), subscription_id)
    status = filters.status if filters.status in DeliveryStatus.values else ""
    return cursor_page_of(
        selectors.deliveries_of(subscription, status=status), filters, delivery_out, order=("-id",)
    )


@router.post(
    "/deliveries/{delivery_id}/replay",
    response={202: DeliveryOut, **ERRORS},
    auth=AUTH,
    summary="Send a delivery again: the same event, the same webhook-id",
)
def delivery_replay(request: HttpRequest, delivery_id: int) -> tuple[int, DeliveryOut]:
    user = _user(request)
    delivery = services.delivery_replay(actor=user, delivery=selectors.get_delivery_for(user, delivery_id))
    return 202, delivery_out(delivery)


@router.post(
    "/events/{event_id}/replay",
    response={202: ListOut[DeliveryOut], **ERRORS},
    auth=AUTH,
    summary="Send an event again to each of your subscriptions that received it",
)
def event_replay(request: HttpRequest, event_id: str) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    rows = [
        delivery_out(services.delivery_replay(actor=user, delivery=d))
        for d in selectors.deliveries_of_event_for(user, event_id[:40])
    ]
    return 202, {"items": rows, "count": len(rows)}
