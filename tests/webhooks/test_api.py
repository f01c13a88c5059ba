"""The webhooks API: who may subscribe, to what; an integrator sees only its own; bad input
is a 422 naming the field and creates nothing."""

from __future__ import annotations

import pytest

from khutwa.accounts.roles import Role
from khutwa.webhooks.models import Delivery, Event, Subscription
from khutwa.webhooks.services import deliver_due
from tests.api.test_licensing_api import auth

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def holder(make_user):  # type: ignore[no-untyped-def]
    return make_user(Role.HOLDER)


def create(client, headers, receiver, **overrides):  # type: ignore[no-untyped-def]
    body = {
        "organisation": "Our ERP",
        "url": receiver.url,
        "event_types": ["document.issued", "licence.suspended"],
    }
    body.update(overrides)
    return client.post("/api/v1/webhooks/subscriptions", body, content_type=JSON, **headers)


def test_a_holder_subscribes_and_sees_the_secret_once(client, holder, receiver):
    headers = auth(holder)
    created = create(client, headers, receiver)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["audience"] == "holder"
    assert body["event_types"] == ["document.issued", "licence.suspended"]
    subscription = Subscription.objects.get()
    assert subscription.owner == holder and subscription.secret == body["secret"]
    shown = client.get(f"/api/v1/webhooks/subscriptions/{body['id']}", **headers).json()
    listed = client.get("/api/v1/webhooks/subscriptions", **headers).json()
    assert "secret" not in shown and listed["count"] == 1 and "secret" not in listed["items"][0]
    assert body["secret"] not in str(client.get("/api/v1/webhooks/subscriptions", **headers).content)


def test_ping_deliveries_replay_rotate_and_delete(client, holder, receiver, django_assert_max_num_queries):
    headers = auth(holder)
    created = create(client, headers, receiver).json()
    receiver.secrets.append(created["secret"])
    sid = created["id"]
    ping = client.post(f"/api/v1/webhooks/subscriptions/{sid}/ping", **headers)
    assert ping.status_code == 202 and ping.json()["event_type"] == "ping"
    assert ping.json()["status"] == "pending"
    assert deliver_due() == 1 and receiver.types() == ["ping"] and receiver.received[0]["verified"]
    for _ in range(3):
        client.post(f"/api/v1/webhooks/subscriptions/{sid}/ping", **headers)
    with django_assert_max_num_queries(8):  # not one query per delivery
        log = client.get(f"/api/v1/webhooks/subscriptions/{sid}/deliveries", **headers).json()
    assert log["count"] == 4 and [d["status"] for d in log["items"]] == ["pending"] * 3 + ["delivered"]
    delivered = client.get(
        f"/api/v1/webhooks/subscriptions/{sid}/deliveries?status=delivered", **headers
    ).json()
    assert delivered["count"] == 1 and delivered["items"][0]["attempts"] == 1
    first = delivered["items"][0]
    assert first["event_id"] == receiver.ids()[0] and first["last_status_code"] == 204
    Delivery.objects.filter(status="pending").update(status="failed")
    replayed = client.post(f"/api/v1/webhooks/deliveries/{first['id']}/replay", **headers)
    assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
    deliver_due()
    replayed = client.post(f"/api/v1/webhooks/events/{first['event_id']}/replay", **headers)
    assert replayed.status_code == 202 and replayed.json()["count"] == 1
    deliver_due()
    assert receiver.ids() == [first["event_id"]] * 3  # the same webhook-id each time
    rotated = client.post(f"/api/v1/webhooks/subscriptions/{sid}/rotate-secret", **headers).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert Subscription.objects.get().secret == rotated["secret"]
    assert client.delete(f"/api/v1/webhooks/subscriptions/{sid}", **headers).status_code == 204
    assert not Subscription.objects.exists() and not Delivery.objects.exists()
    assert client.get(f"/api/v1/webhooks/subscriptions/{sid}", **headers).status_code == 404


def test_event_types_offered_follow_the_role(client, holder, make_user):
    holder_types = {
        t["type"] for t in client.get("/api/v1/webhooks/event-types", **auth(holder)).json()["items"]
    }
    officer = make_user(Role.TAMKEEN_OFFICER)
    officer_types = {
        t["type"] for t in client.get("/api/v1/webhooks/event-types", **auth(officer)).json()["items"]
    }
    assert "payout_batch.paid" in officer_types and "payout_batch.paid" not in holder_types
    assert "document.issued" in holder_types and "claim.paid" in officer_types


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://example.com/hook"}, "url"),  # http only to the loopback
        ({"url": "https://user:pw@example.com/hook"}, "url"),
        ({"event_types": ["document.shredded"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["payout_batch.paid"]}, "event_types"),  # Tamkeen's, not a holder's
        ({"organisation": "  "}, "organisation"),
        ({"organisation": "x" * 201}, "organisation"),
        ({"event_types": "document.issued"}, "event_types"),
        ({"organisation": "ERP\x00"}, "organisation"),  # PostgreSQL cannot store NUL
        ({"url": "http://127.0.0.1:9/hooks\x00"}, "url"),
    ],
)
def test_bad_input_is_refused_naming_the_field(client, holder, receiver, overrides, field):
    response = create(client, auth(holder), receiver, **overrides)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not Subscription.objects.exists()


def test_errors_speak_the_request_language(client, holder, receiver):
    response = create(client, auth(holder), receiver, url="ftp://x", HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 422
    assert response.json()["detail"] != "The request has invalid fields."  # Arabic


def test_production_wants_https_even_to_the_loopback(client, holder, receiver, settings):
    settings.IS_PRODUCTION = True
    response = create(client, auth(holder), receiver)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "url"
    assert create(client, auth(holder), receiver, url="https://erp.example.bh/hooks").status_code == 201


@pytest.mark.parametrize("role", [None, Role.APPLICANT, Role.REGISTRAR, Role.TAMKEEN_CUSTOMER, Role.SYSADMIN])
def test_only_holders_and_tamkeen_subscribe(client, make_user, receiver, role):
    headers = auth(make_user(role)) if role else {}
    response = create(client, headers, receiver)
    assert response.status_code == (403 if role else 401)
    assert response["Content-Type"] == "application/problem+json"
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("role", [Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE])
def test_tamkeen_staff_subscribe_for_tamkeen(client, make_user, receiver, role):
    response = create(client, auth(make_user(role)), receiver, event_types=["payout_batch.paid"])
    assert response.status_code == 201 and response.json()["audience"] == "tamkeen"


def _calls(sid: int, delivery_id: int, event_id: str) -> list[tuple[str, str]]:
    return [
        ("get", f"/api/v1/webhooks/subscriptions/{sid}"),
        ("delete", f"/api/v1/webhooks/subscriptions/{sid}"),
        ("post", f"/api/v1/webhooks/subscriptions/{sid}/ping"),
        ("post", f"/api/v1/webhooks/subscriptions/{sid}/rotate-secret"),
        ("get", f"/api/v1/webhooks/subscriptions/{sid}/deliveries"),
        ("post", f"/api/v1/webhooks/deliveries/{delivery_id}/replay"),
        ("post", f"/api/v1/webhooks/events/{event_id}/replay"),
    ]


@pytest.mark.parametrize("caller", ["anonymous", "applicant", "other holder", "tamkeen officer"])
def test_another_integrators_subscription_is_not_found(client, holder, make_user, receiver, caller):
    created = create(client, auth(holder), receiver).json()
    ping = client.post(f"/api/v1/webhooks/subscriptions/{created['id']}/ping", **auth(holder)).json()

    def state():  # type: ignore[no-untyped-def]
        return (
            list(Subscription.objects.values_list("id", "secret", "previous_secret", "is_active")),
            list(Delivery.objects.values_list("id", "status", "next_attempt_at", "failures")),
            Event.objects.count(),
        )

    before = state()
    headers = {
        "anonymous": {},
        "applicant": auth(make_user(Role.APPLICANT)),
        "other holder": auth(make_user(Role.HOLDER)),
        "tamkeen officer": auth(make_user(Role.TAMKEEN_OFFICER)),
    }[caller]
    for method, path in _calls(created["id"], ping["id"], ping["event_id"]):
        response = getattr(client, method)(path, **headers)
        assert response.status_code == (401 if caller == "anonymous" else 404), (path, response.content)
        assert response["Content-Type"] == "application/problem+json"
    assert state() == before
    for bad in ("msg_%00", "x" * 300, "msg_\u0661"):
        assert client.post(f"/api/v1/webhooks/events/{bad}/replay", **headers).status_code in (401, 404)
    if caller != "anonymous":
        assert client.get("/api/v1/webhooks/subscriptions", **headers).json() == {"items": [], "count": 0}


def test_the_subscription_list_pages_by_limit_and_offset_with_the_total(client, holder, receiver):
    headers = auth(holder)
    for n in range(3):
        assert create(client, headers, receiver, organisation=f"ERP {n}").status_code == 201
    pages = [
        client.get(f"/api/v1/webhooks/subscriptions?limit=2&offset={o}", **headers).json() for o in (0, 2)
    ]
    assert [len(p["items"]) for p in pages] == [2, 1] and {p["count"] for p in pages} == {3}
    assert [s["organisation"] for p in pages for s in p["items"]] == ["ERP 0", "ERP 1", "ERP 2"]
