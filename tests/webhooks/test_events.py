"""Every listed event reaches the subscriptions entitled to it, signed, with no personal data;
events are written in the change's own transaction (the outbox)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from khutwa.accounts.models import User
from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.documents import services as docs
from khutwa.licensing.models import Licence
from khutwa.licensing.services import licence_change_status, licences_expire
from khutwa.support import services as support
from khutwa.webhooks import events
from khutwa.webhooks.models import Delivery, Event
from khutwa.webhooks.services import deliver_due, subscription_create
from tests.documents.conftest import line

pytestmark = pytest.mark.django_db


def subscribe(user, receiver, types=None, organisation="ERP"):  # type: ignore[no-untyped-def]
    user = User.objects.get(pk=user.pk)  # roles as they are now (the object caches them)
    audience = events.audience_of(user)
    assert audience is not None
    subscription, secret = subscription_create(
        actor=user,
        organisation=organisation,
        url=receiver.url,
        event_types=sorted(types or events.ALLOWED[audience]),
    )
    receiver.secrets.append(secret)
    return subscription


def run_flow(world, officer, finance, claimant, programme, receivers) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A holder's ERP and Tamkeen subscribe; then the licence, documents and support happen."""
    supplier = world.applicant
    user_set_roles(user=supplier, roles=[Role.APPLICANT, Role.HOLDER], actor=None)
    erp, tamkeen = receivers(), receivers()
    subscribe(supplier, erp)
    subscribe(officer, tamkeen, organisation="Tamkeen")
    licence = world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard")
    book = docs.customer_create(
        actor=supplier,
        kind="individual",
        cpr="870303003",
        name_en="Yousif Ebrahim",
        name_ar="يوسف إبراهيم",
        address="Flat 1, Building 2, Road 3, Block 905, Riffa",
        phone="36123456",
        is_tamkeen_customer=True,
    )
    quotation = docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="quotation",
            customer=book.pk,
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            lines=[line(quantity="10", unit_price="40")],
        ),
    ).document
    docs.quotation_respond(actor=claimant, quotation=quotation, accept=True)
    application = support.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    application = support.application_decide(actor=officer, application=application, decision="approve")
    invoice = docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="invoice",
            customer=book.pk,
            quotation=str(quotation.public_id),
            tamkeen_application_number=application.reference,
            lines=[line(quantity="10", unit_price="40")],
        ),
    ).document
    receipt = docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="receipt",
            customer=book.pk,
            payment_method="bank_transfer",
            payment_reference="TRF-1",
            payment_amount="400",
            allocations=[(str(invoice.public_id), "400")],
        ),
    ).document
    claim = support.claim_submit(
        actor=claimant,
        application=application,
        document_refs=[str(invoice.public_id), str(receipt.public_id)],
    )
    support.claim_decide(actor=officer, claim=claim, decision="approve")
    support.beneficiary_set_iban(actor=claimant, iban="BH67 BMAG 0000 1299 1234 56")
    batch = support.batch_create(actor=finance, claim_ids=[claim.pk])
    support.batch_mark_paid(actor=finance, batch=batch)
    # Another sale, corrected by a credit note: the holder's business only.
    other = docs.document_issue(
        actor=supplier, data=docs.DocumentInput(type="invoice", customer=book.pk, lines=[line()])
    ).document
    docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="credit_note",
            customer=book.pk,
            invoice=str(other.public_id),
            reason="Returned",
            lines=[line(quantity="1")],
        ),
    )
    licence_change_status(actor=world.registrar, licence=licence, action="suspend", reason="Inspection due")
    licences_expire(today=licence.valid_until + dt.timedelta(days=1))
    deliver_due()
    return {
        "erp": erp,
        "tamkeen": tamkeen,
        "licence": Licence.objects.get(pk=licence.pk),
        "invoice": invoice,
        "other": other,
        "book": book,
        "batch": batch,
        "claim": claim,
        "application": application,
    }


def test_every_listed_event_reaches_the_subscriptions_entitled_to_it(
    world, officer, finance, claimant, programme, receivers
):
    flow = run_flow(world, officer, finance, claimant, programme, receivers)
    erp, tamkeen = flow["erp"], flow["tamkeen"]
    assert set(erp.types()) == {
        "licence.issued",
        "document.issued",
        "quotation.accepted",
        "document.paid",
        "document.credited",
        "licence.suspended",
        "licence.expired",
    }
    assert set(tamkeen.types()) == {
        "support.application.decided",
        "document.issued",
        "document.paid",
        "claim.verified",
        "claim.paid",
        "payout_batch.paid",
        "licence.suspended",
        "licence.expired",
    }
    assert all(r["verified"] for r in erp.received + tamkeen.received)
    assert Delivery.objects.exclude(status="delivered").count() == 0
    # Tamkeen hears of the invoice carrying its application number, not of the holder's other sales.
    tamkeen_documents = [
        r["payload"]["data"]["document"]["public_id"]
        for r in tamkeen.received
        if r["payload"]["type"] == "document.issued"
    ]
    assert tamkeen_documents == [str(flow["invoice"].public_id)]
    erp_issued = [r for r in erp.received if r["payload"]["type"] == "document.issued"]
    assert [r["payload"]["data"]["document"]["type"] for r in erp_issued] == [
        "quotation",
        "invoice",
        "receipt",
        "invoice",
        "credit_note",
    ]
    # The payloads carry what the subscriber acts on: references, amounts, links.
    by_type = {r["payload"]["type"]: r["payload"] for r in tamkeen.received}
    paid = by_type["document.paid"]["data"]
    assert paid["invoice"]["public_id"] == str(flow["invoice"].public_id)
    assert (paid["amount"], paid["outstanding"], paid["is_fully_paid"]) == ("400.000", "0.000", True)
    batch = by_type["payout_batch.paid"]["data"]["batch"]
    assert batch["reference"] == flow["batch"].reference and batch["claims"] == [flow["claim"].pk]
    assert batch["total"] == "200.000"
    decided = by_type["support.application.decided"]["data"]["application"]
    assert decided["reference"] == flow["application"].reference and decided["decision"] == "approve"
    licence = flow["licence"]
    expired = {r["payload"]["type"]: r["payload"] for r in erp.received}["licence.expired"]["data"]["licence"]
    assert expired["number"] == licence.number and expired["status"] == "expired"
    assert expired["check_url"].endswith(f"/licences/{licence.public_ref}")
    credited = {r["payload"]["type"]: r["payload"] for r in erp.received}["document.credited"]["data"]
    assert credited["invoice"]["public_id"] == str(flow["other"].public_id)
    # Each message's id is the event's id, the one receivers de-duplicate on.
    for r in erp.received + tamkeen.received:
        assert r["id"] == r["payload"]["id"] and r["id"].startswith("msg_")
    assert len(set(tamkeen.ids())) == len(tamkeen.ids())


def test_no_payload_carries_personal_data(world, officer, finance, claimant, programme, receivers):
    flow = run_flow(world, officer, finance, claimant, programme, receivers)
    licence, book = flow["licence"], flow["book"]
    private = {
        licence.cpr,
        licence.name_ar,
        licence.name_en,
        licence.trade_name,
        claimant.cpr,
        world.applicant.cpr,
        world.applicant.email,
        book.cpr,
        book.name_en,
        book.name_ar,
        book.phone,
        "Riffa",
        "Yousif",
        "yousif",  # the claimant's username
        "Inspection due",  # the registrar's free-text reason
    }
    private.discard("")
    texts = [json.dumps(e.payload, ensure_ascii=False) for e in Event.objects.all()]
    texts += [r["body"].decode() for r in flow["erp"].received + flow["tamkeen"].received]
    assert len(texts) > 20
    for text in texts:
        for secret in private:
            assert secret not in text, (secret, text[:200])


def test_a_change_rolled_back_emits_nothing(world, receiver):
    licence = world.licensed(activities=["sewing-abayas"])
    subscribe(world.applicant, receiver, ["licence.suspended"])
    with pytest.raises(RuntimeError), transaction.atomic():
        licence_change_status(actor=world.registrar, licence=licence, action="suspend", reason="x")
        assert Event.objects.count() == 1  # written in the same transaction...
        raise RuntimeError("the change fails after the event was written")
    assert Event.objects.count() == 0 and Delivery.objects.count() == 0  # ...and gone with it
    assert deliver_due() == 0 and receiver.received == []


def test_only_the_subscribed_types_and_active_subscriptions_receive(world, receivers):
    licence = world.licensed(activities=["sewing-abayas"])
    suspended_only, everything = receivers(), receivers()
    subscribe(world.applicant, suspended_only, ["licence.suspended"])
    off = subscribe(world.applicant, everything)
    off.is_active = False
    off.save()
    licence_change_status(actor=world.registrar, licence=licence, action="suspend", reason="x")
    licence_change_status(actor=world.registrar, licence=licence, action="reinstate", reason="y")
    deliver_due()
    assert suspended_only.types() == ["licence.suspended"]
    assert everything.received == []


def test_nobody_subscribed_stores_no_event(world):
    licence = world.licensed(activities=["sewing-abayas"])
    licence_change_status(actor=world.registrar, licence=licence, action="suspend", reason="x")
    assert Event.objects.count() == 0


def test_a_tampered_body_or_another_secret_fails_verification(world, receiver):
    licence = world.licensed(activities=["sewing-abayas"])
    subscribe(world.applicant, receiver, ["licence.suspended"])
    licence_change_status(actor=world.registrar, licence=licence, action="suspend", reason="x")
    assert deliver_due() == 1
    [message] = receiver.received
    assert message["verified"]
    secret = receiver.secrets[0]
    assert Webhook(secret).verify(message["body"], message["headers"])["type"] == "licence.suspended"
    tampered = message["body"].replace(b'"suspended"', b'"active"')
    assert tampered != message["body"]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, message["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(message["body"], message["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(message["body"], {**message["headers"], "webhook-id": "msg_other"})
