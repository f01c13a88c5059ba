"""Webhook writes: subscriptions, the outbox (events and their deliveries, written in the
caller's transaction), delivery with retries, replay (docs/integration.md)."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import logging
import secrets
import socket
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from khutwa.accounts.models import User
from khutwa.audit.services import audit_record
from khutwa.errors import Refused
from khutwa.webhooks import events
from khutwa.webhooks.models import Delivery, DeliveryStatus, Event, Subscription
from khutwa.webhooks.payloads import Emission

log = logging.getLogger("khutwa.webhooks")

#: Waits after the 1st, 2nd, ... failed attempt; after the last one the delivery has failed
#: (7 attempts over about 17.6 hours, 19.3 at most with jitter: within 24 hours).
BACKOFF = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
)
JITTER = 0.1  # each wait is stretched or shrunk by up to 10 %, so retries do not arrive in step
#: While one worker sends, the delivery is leased to it: others leave it alone until then.
LEASE = dt.timedelta(minutes=2)
SNIPPET = 200  # characters of a failed response's body kept in last_error
SECRET_OVERLAP = dt.timedelta(hours=24)  # a rotated secret keeps signing beside the new one
_random = secrets.SystemRandom()


# Subscriptions -----------------------------------------------------------------------------


def secret_new() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _literal_not_public(host: str) -> bool:
    try:
        return _not_public(host)
    except ValueError:  # a name, not an address
        return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global


def address_problem(host: str) -> str:
    """In production a webhook goes only to public addresses: never to the platform's own
    network (loopback, private ranges, link-local such as cloud metadata at 169.254.169.254,
    reserved), whatever the name resolves to when the delivery is made. Outside production
    anything goes (tests and integrators' development receivers on the loopback)."""
    if not settings.IS_PRODUCTION:
        return ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return _("The URL's host name cannot be resolved.")
    if not infos or any(_not_public(str(info[4][0])) for info in infos):
        return _("The URL must point to a public address, not a private or local one.")
    return ""


def url_problem(url: str) -> str:
    """Why this URL cannot receive webhooks, or "" when it can: https (http only to the loopback
    outside production), no user or password in it, and in production no private or local
    address given literally (delivery checks what the name resolves to, `address_problem`)."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return _("Enter a valid http(s) URL.")
    parts = urlsplit(url)
    if parts.username or parts.password:
        return _("The URL must not carry a user name or password.")
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" and (settings.IS_PRODUCTION or not _is_loopback(host)):
        return _("The URL must use https.")
    if settings.IS_PRODUCTION and (
        host == "localhost" or host.endswith(".localhost") or _literal_not_public(host)
    ):
        return _("The URL must point to a public address, not a private or local one.")
    return ""


def _has_control(text: str) -> bool:
    """Control characters (NUL, which PostgreSQL cannot store, among them)."""
    return any(unicodedata.category(c) == "Cc" for c in text)


def _clean(
    *, audience: str, organisation: str, url: str, event_types: Iterable[str]
) -> tuple[str, str, list[str]]:
    errors: dict[str, list[str]] = {}
    organisation = organisation.strip()
    if _has_control(organisation):
        errors["organisation"] = [_("Enter a valid text value.")]
    elif not organisation:
        errors["organisation"] = [_("This field is required.")]
    elif len(organisation) > 200:
        errors["organisation"] = [_("Ensure this value has at most %(max)s characters.") % {"max": 200}]
    url = url.strip()
    if len(url) > 500:
        errors["url"] = [_("Ensure this value has at most %(max)s characters.") % {"max": 500}]
    elif _has_control(url):
        errors["url"] = [_("Enter a valid http(s) URL.")]
    elif problem := url_problem(url):
        errors["url"] = [problem]
    types = list(dict.fromkeys(event_types))
    if not types:
        errors["event_types"] = [_("Choose at least one event type.")]
    for kind in types:
        if kind not in events.EVENT_TYPES:
            errors.setdefault("event_types", []).append(_("Unknown event type “%(type)s”.") % {"type": kind})
        elif kind not in events.ALLOWED[audience]:
            errors.setdefault("event_types", []).append(
                _("Your role may not subscribe to “%(type)s”.") % {"type": kind}
            )
    if errors:
        raise ValidationError(errors)
    return organisation, url, types


def subscription_check(*, owner: User, organisation: str, url: str, event_types: Iterable[str]) -> None:
    """Raise ValidationError naming each bad field (the admin's form asks before creating)."""
    audience = events.audience_of(owner)
    if audience is None:
        raise ValidationError({"owner": [_("This user's role may not subscribe to webhooks.")]})
    _clean(audience=audience, organisation=organisation, url=url, event_types=event_types)


def subscription_create(
    *,
    actor: User,
    organisation: str,
    url: str,
    event_types: Iterable[str],
    owner: User | None = None,
) -> tuple[Subscription, str]:
    """A new subscription of its owner's audience (the owner is the actor, or the integrator a
    system administrator creates it for in the admin); returns it and its secret (shown once)."""
    owner = owner or actor
    audience = events.audience_of(owner)
    if audience is None:
        if owner is not actor:
            raise ValidationError({"owner": [_("This user's role may not subscribe to webhooks.")]})
        raise Refused(_("Your role may not subscribe to webhooks."), status=403)
    organisation, url, types = _clean(
        audience=audience, organisation=organisation, url=url, event_types=event_types
    )
    secret = secret_new()
    with transaction.atomic():
        subscription = Subscription.objects.create(
            organisation=organisation,
            url=url,
            secret=secret,
            event_types=types,
            audience=audience,
            owner=owner,
        )
        audit_record(
            actor=actor,
            action="webhooks.subscription.create",
            obj=subscription,
            after={"url": url, "event_types": types, "audience": audience, "owner": owner.username},
        )
    return subscription, secret


def subscription_delete(*, actor: User, subscription: Subscription) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="webhooks.subscription.delete",
            obj=subscription,
            before={"url": subscription.url, "event_types": subscription.event_types},
        )
        subscription.delete()


def subscription_set_active(*, actor: User, subscription: Subscription, is_active: bool) -> Subscription:
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        before = locked.is_active
        locked.is_active = is_active
        locked.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="webhooks.subscription.active",
            obj=locked,
            before={"is_active": before},
            after={"is_active": is_active},
        )
    return locked


def subscription_rotate_secret(
    *, actor: User, subscription: Subscription, now: dt.datetime | None = None
) -> tuple[Subscription, str]:
    """A new secret (returned once); the old one keeps signing beside it for 24 hours."""
    now = now or timezone.now()
    secret = secret_new()
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_until = now + SECRET_OVERLAP
        locked.secret = secret
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
        audit_record(actor=actor, action="webhooks.subscription.rotate_secret", obj=locked)
    return locked, secret


# The outbox ---------------------------------------------------------------------------------


def event_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _enqueue(delivery_ids: list[int]) -> None:
    """After commit: a task per delivery (deliver_due sends it anyway if this fails)."""
    from khutwa.webhooks.tasks import deliver_webhook

    for pk in delivery_ids:
        try:
            deliver_webhook.enqueue(pk)
        except Exception:  # the scheduler's deliver_due is the safety net
            log.exception("webhook delivery %s not enqueued", pk)


def _store(
    emission: Emission, subscriptions: list[Subscription], now: dt.datetime
) -> tuple[Event, list[Delivery]]:
    event_id = event_id_new()
    envelope = {
        "id": event_id,
        "type": emission.type,
        "timestamp": now.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": emission.data(),
    }
    event = Event.objects.create(
        event_id=event_id,
        type=emission.type,
        object_type=emission.object_type,
        object_id=emission.object_id,
        payload=envelope,
        created_at=now,
    )
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                event=event,
                subscription=s,
                object_key=f"{emission.object_type}:{emission.object_id}"[:100],
                next_attempt_at=now,
                created_at=now,
            )
            for s in subscriptions
        ]
    )
    if any(d.pk is None for d in deliveries):  # backends without RETURNING on bulk inserts
        deliveries = list(Delivery.objects.filter(event=event))
    return event, deliveries


def events_emit(emissions: Iterable[Emission], *, now: dt.datetime | None = None) -> list[Event]:
    """Inside the caller's transaction: store each event wanted by some active subscription
    (of Tamkeen when it is Tamkeen's business, of the holders it concerns) with a pending
    delivery per subscription, and enqueue their sending once the transaction commits."""
    emissions = list(emissions)
    if not emissions:
        return []
    now = now or timezone.now()
    holders = set().union(*(e.holders for e in emissions))
    candidates = list(
        Subscription.objects.filter(is_active=True).filter(
            Q(audience=Subscription.Audience.TAMKEEN)
            | Q(audience=Subscription.Audience.HOLDER, owner_id__in=holders)
        )
    )
    stored: list[Event] = []
    if not candidates:
        return stored
    delivery_ids: list[int] = []
    for emission in emissions:
        wanted = [s for s in candidates if emission.type in s.event_types]
        chosen = [
            s for s in wanted if s.audience == Subscription.Audience.HOLDER and s.owner_id in emission.holders
        ]
        tamkeen = [s for s in wanted if s.audience == Subscription.Audience.TAMKEEN]
        if tamkeen and emission.tamkeen():
            chosen += tamkeen
        if not chosen:
            continue
        event, deliveries = _store(emission, chosen, now)
        stored.append(event)
        delivery_ids += [d.pk for d in deliveries]
    if delivery_ids:
        transaction.on_commit(lambda: _enqueue(delivery_ids))
    return stored


def ping_send(*, actor: User, subscription: Subscription, now: dt.datetime | None = None) -> Delivery:
    """A ``ping`` event to this subscription only (whatever types it asked for)."""
    now = now or timezone.now()
    emission = Emission(
        type=events.PING,
        object_type="subscription",
        object_id=str(subscription.pk),
        data=lambda: {"subscription": subscription.pk, "organisation": subscription.organisation},
    )
    with transaction.atomic():
        event, deliveries = _store(emission, [subscription], now)
        audit_record(actor=actor, action="webhooks.ping", obj=subscription, after={"event": event.event_id})
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: _enqueue(ids))
    return deliveries[0]


def delivery_replay(*, actor: User, delivery: Delivery, now: dt.datetime | None = None) -> Delivery:
    """Send the same event again (same webhook-id), whatever became of it: a fresh schedule."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().get(pk=delivery.pk)
        before = locked.status
        locked.status = DeliveryStatus.PENDING
        locked.failures = 0
        locked.next_attempt_at = now
        locked.save(update_fields=["status", "failures", "next_attempt_at"])
        audit_record(
            actor=actor,
            action="webhooks.delivery.replay",
            obj=locked,
            before={"status": before},
            after={"event": locked.event.event_id},
        )
        transaction.on_commit(lambda: _enqueue([locked.pk]))
    return locked


# Delivery ------------------------------------------------------------------------------------


def _due(now: dt.datetime) -> QuerySet[Delivery]:
    """Pending deliveries whose time has come and that no earlier event for the same object
    to the same subscription is still waiting for (ordering per object)."""
    earlier_pending = Delivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        object_key=OuterRef("object_key"),
        status=DeliveryStatus.PENDING,
        event_id__lt=OuterRef("event_id"),
    )
    return (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(~Exists(earlier_pending))
        .order_by("event_id", "pk")
    )


def _claim(queryset: QuerySet[Delivery], now: dt.datetime, limit: int) -> list[int]:
    """Lease up to `limit` due deliveries to this worker. On PostgreSQL rows another worker
    holds are skipped (SKIP LOCKED); SQLite's IMMEDIATE transactions serialise the claim."""
    with transaction.atomic():
        ids = list(queryset.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if ids:
            Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now + LEASE)
    return ids


def _signature(subscription: Subscription, event_id: str, at: dt.datetime, body: str) -> str:
    signatures = [Webhook(subscription.secret).sign(event_id, at, body)]
    if (
        subscription.previous_secret
        and subscription.previous_secret_until
        and subscription.previous_secret_until > at
    ):
        signatures.append(Webhook(subscription.previous_secret).sign(event_id, at, body))
    return " ".join(signatures)


def body_of(event: Event) -> str:
    """The exact bytes sent (and signed): compact JSON, keys sorted, UTF-8."""
    return json.dumps(event.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _post(delivery: Delivery) -> tuple[int | None, str]:
    """One HTTP attempt: (status code or None, error text). Never follows a redirect."""
    subscription, event = delivery.subscription, delivery.event
    if problem := url_problem(subscription.url) or address_problem(urlsplit(subscription.url).hostname or ""):
        return None, str(problem)
    body = body_of(event)
    signed_at = timezone.now()
    headers = {
        "content-type": "application/json",
        "user-agent": "Khutwa-Webhooks/1",
        "webhook-id": event.event_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": _signature(subscription, event.event_id, signed_at, body),
    }
    try:
        with requests.post(
            subscription.url,
            data=body.encode(),
            headers=headers,
            timeout=(settings.KHUTWA_WEBHOOK_TIMEOUT, settings.KHUTWA_WEBHOOK_TIMEOUT),
            allow_redirects=False,
            stream=True,
        ) as response:
            if 200 <= response.status_code < 300:
                return response.status_code, ""
            raw = next(response.iter_content(SNIPPET), b"")
            snippet = raw.decode("utf-8", "replace")[:SNIPPET]
            return response.status_code, f"HTTP {response.status_code}: {snippet}".strip()
    except (requests.RequestException, ValueError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]


def _record(pk: int, now: dt.datetime, code: int | None, error: str, jitter: Callable[[], float]) -> Delivery:
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=pk)
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = code
        delivery.last_error = "".join(c if c.isprintable() else " " for c in error)[:300]
        if code is not None and 200 <= code < 300:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        else:
            delivery.failures += 1
            if delivery.failures > len(BACKOFF):
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                wait = BACKOFF[delivery.failures - 1] * jitter()
                delivery.next_attempt_at = now + wait
        delivery.save()
        if delivery.status != DeliveryStatus.PENDING:
            # The next event for the same object may go now.
            following = (
                Delivery.objects.filter(
                    subscription_id=delivery.subscription_id,
                    object_key=delivery.object_key,
                    status=DeliveryStatus.PENDING,
                    event_id__gt=delivery.event_id,
                )
                .order_by("event_id")
                .values_list("pk", flat=True)
                .first()
            )
            if following is not None:
                transaction.on_commit(lambda: _enqueue([following]))
    return delivery


def _jitter() -> float:
    return _random.uniform(1 - JITTER, 1 + JITTER)


def _attempt(pk: int, now: dt.datetime, jitter: Callable[[], float]) -> Delivery:
    delivery = Delivery.objects.select_related("event", "subscription").get(pk=pk)
    code, error = _post(delivery)
    return _record(pk, now, code, error, jitter)


def deliver(
    delivery_id: int, *, now: dt.datetime | None = None, jitter: Callable[[], float] = _jitter
) -> Delivery | None:
    """Attempt this delivery if it is due and not waiting behind an earlier event for the same
    object; returns it after the attempt, or None when there was nothing to do."""
    now = now or timezone.now()
    if not _claim(_due(now).filter(pk=delivery_id), now, 1):
        return None
    return _attempt(delivery_id, now, jitter)


def deliver_due(
    now: dt.datetime | None = None, *, limit: int = 500, jitter: Callable[[], float] = _jitter
) -> int:
    """Attempt every due delivery (in rounds: a delivered event releases the next one for
    its object); returns how many attempts were made."""
    now = now or timezone.now()
    count = 0
    while count < limit:
        ids = _claim(_due(now), now, min(50, limit - count))
        if not ids:
            break
        for pk in ids:
            _attempt(pk, now, jitter)
            count += 1
    return count
