"""Webhooks in the admin, for system administrators: every subscription, event and delivery;
subscriptions created for an integrator (the secret shown once), switched off or on, pinged;
deliveries replayed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from khutwa.audit.admin import ReadOnlyAdmin
from khutwa.webhooks import events, services
from khutwa.webhooks.models import Delivery, Event, Subscription


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("event types"),
        choices=[(k, f"{k} — {v}") for k, v in events.EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Subscription
        # url and event_types are declared above (the model's own URL field would assume http).
        fields = ("organisation", "owner")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("owner") and "url" in data and "organisation" in data:
            services.subscription_check(
                owner=data["owner"],
                organisation=data["organisation"],
                url=data["url"],
                event_types=data.get("event_types") or [],
            )
        return data


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("id", "organisation", "url", "audience", "owner", "is_active", "created_at")
    list_filter = ("audience", "is_active")
    search_fields = ("organisation", "url", "owner__username")
    actions = ("deactivate", "activate", "ping")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Created once through the service; afterwards only switched off or on (actions).
        if obj is not None:
            return ("organisation", "url", "event_types", "owner", "audience", "is_active", "created_at")
        return ()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is not None:  # nothing to edit: every field is read-only once created
            return forms.modelform_factory(Subscription, fields=())
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        data = form.cleaned_data
        created, secret = services.subscription_create(
            actor=request.user,  # type: ignore[arg-type]
            owner=data["owner"],
            organisation=data["organisation"],
            url=data["url"],
            event_types=data["event_types"],
        )
        obj.pk = created.pk
        obj.audience = created.audience
        messages.warning(
            request,
            gettext("The secret of this subscription, shown only now: %(secret)s") % {"secret": secret},
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing related to save (the service stored everything)."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.subscription_delete(actor=request.user, subscription=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(description=_("Switch the selected subscriptions off"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for s in queryset:
            services.subscription_set_active(actor=request.user, subscription=s, is_active=False)  # type: ignore[arg-type]

    @admin.action(description=_("Switch the selected subscriptions on"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for s in queryset:
            services.subscription_set_active(actor=request.user, subscription=s, is_active=True)  # type: ignore[arg-type]

    @admin.action(description=_("Send a ping to the selected subscriptions"), permissions=["change"])
    def ping(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for s in queryset:
            services.ping_send(actor=request.user, subscription=s)  # type: ignore[arg-type]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "object_type", "object_id", "created_at")
    list_filter = ("type",)
    search_fields = ("event_id", "object_id")
    readonly_fields = ("event_id", "type", "object_type", "object_id", "payload", "created_at")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "event",
        "subscription",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "delivered_at",
    )
    list_filter = ("status", "event__type")
    search_fields = ("event__event_id", "subscription__organisation")
    list_select_related = ("event", "subscription")
    readonly_fields = (
        "event",
        "subscription",
        "object_key",
        "status",
        "attempts",
        "failures",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    )
    actions = ("replay",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Replay the selected deliveries (same event id)"), permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for d in queryset:
            services.delivery_replay(actor=request.user, delivery=d)  # type: ignore[arg-type]
        messages.success(request, gettext("Deliveries queued again: %(n)s") % {"n": queryset.count()})
