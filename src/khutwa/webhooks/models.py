"""Webhooks: integrators' subscriptions, the events the platform emits (an outbox written in
the same transaction as the change), and one delivery per event and subscription."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Subscription(models.Model):
    """An integrator's endpoint, signed with a secret of the platform's making (Standard
    Webhooks' ``whsec_<base64>``), shown once when created or rotated."""

    class Audience(models.TextChoices):
        TAMKEEN = "tamkeen", _("Tamkeen")
        HOLDER = "holder", _("Licence holder")

    organisation = models.CharField(_("organisation"), max_length=200)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("secret"), max_length=100, editable=False)
    # The secret before the last rotation, still signing (beside the new one) until this time,
    # so that a receiver can switch secrets without losing a message.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    event_types = models.JSONField(_("event types"), default=list)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices)
    is_active = models.BooleanField(_("active"), default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return f"{self.organisation} → {self.url}"


class Event(models.Model):
    """Something that happened, as every subscriber receives it: ``event_id`` is the
    ``webhook-id`` header receivers de-duplicate on."""

    event_id = models.CharField(_("event id"), max_length=40, unique=True)
    type = models.CharField(_("type"), max_length=50, db_index=True)
    object_type = models.CharField(_("object type"), max_length=30)
    object_id = models.CharField(_("object id"), max_length=64)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event to one subscription: its attempts, the next one's time, the last result."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    # The event's object ("licence:KH-2026-000001"): deliveries for one object to one
    # subscription go out in event order.
    object_key = models.CharField(max_length=100)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Failures since the delivery was created or last replayed: the backoff step.
    failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["subscription", "object_key", "status"], name="webhook_delivery_object"),
        ]

    def __str__(self) -> str:
        return f"{self.event.event_id} → {self.subscription_id} ({self.status})"
