"""The audit log's chains: which chain an event belongs to, and what anchoring hands to the
transparency log."""

import pytest

from khutwa.accounts.models import User
from khutwa.approvals.models import Review
from khutwa.audit.chains import chain_for
from khutwa.audit.models import AuditEvent
from khutwa.audit.selectors import ChainHead, anchor_entry, heads_to_anchor
from khutwa.audit.services import audit_record, audit_verify_chains, heads_mark_anchored
from khutwa.catalogue.models import PublicHoliday
from khutwa.documents.models import Customer, Document
from khutwa.licensing.models import Application, Licence, LicenceEvent
from khutwa.notifications.models import Preference
from khutwa.support.models import Claim, Programme, SupportApplication


@pytest.mark.parametrize(
    ("obj", "chain"),
    [
        (Licence(pk=7), "licence:7"),
        (Document(pk=1, licence_id=7), "licence:7"),
        (LicenceEvent(pk=2, licence_id=7), "licence:7"),
        (Application(pk=9), "application:9"),
        (Review(pk=3, application_id=9), "application:9"),
        (Programme(pk=2), "programme:2"),
        (SupportApplication(pk=5, programme_id=2), "programme:2"),
        (Claim(pk=1, application=SupportApplication(pk=5, programme_id=2)), "programme:2"),
        (User(pk=4), "user:4"),
        (Customer(pk=8, owner_id=4), "user:4"),
        (Preference(pk=6, user_id=4), "user:4"),
        (PublicHoliday(pk=1), "system"),
        (None, "system"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_each_object_maps_to_its_chain(obj, chain):
    assert chain_for(obj) == chain


@pytest.mark.django_db
def test_documents_licensing_work_and_accounts_land_in_their_own_chains(issue, licence, holder):
    document = issue("invoice")
    application = Application.objects.get(licence=licence)
    issued = AuditEvent.objects.get(action="documents.invoice.issue")
    assert (issued.chain, issued.object_id) == (f"licence:{licence.pk}", str(document.pk))
    review_events = AuditEvent.objects.filter(object_type="approvals.review")
    assert review_events.exists()
    assert set(review_events.values_list("chain", flat=True)) == {f"application:{application.pk}"}
    submitted = AuditEvent.objects.filter(object_type="licensing.application", object_id=str(application.pk))
    assert set(submitted.values_list("chain", flat=True)) == {f"application:{application.pk}"}
    customer_event = AuditEvent.objects.get(action="documents.customer.create")
    assert customer_event.chain == f"user:{holder.pk}"
    assert audit_verify_chains()[1] == []


@pytest.mark.django_db
def test_an_explicit_chain_overrides_the_mapping(registrar):
    event = audit_record(actor=registrar, action="test.event", obj=registrar, chain="test:explicit")
    assert (event.chain, event.seq) == ("test:explicit", 1)


@pytest.mark.django_db
def test_heads_to_anchor_are_the_heads_changed_since_their_last_anchoring(registrar):
    for key in ("test:a", "test:b"):
        audit_record(actor=registrar, action="test.event", chain=key)
    before = {h.chain for h in heads_to_anchor()}
    assert {"test:a", "test:b"} <= before
    assert heads_mark_anchored(heads_to_anchor()) == len(before)
    assert heads_to_anchor() == []
    second = audit_record(actor=registrar, action="test.event", chain="test:b")
    assert heads_to_anchor() == [ChainHead("test:b", 2, second.hash)]
    # An anchor never moves back: marking an older head changes nothing.
    heads_mark_anchored([ChainHead("test:b", 2, second.hash)])
    heads_mark_anchored([ChainHead("test:b", 1, "0" * 64)])
    assert heads_to_anchor() == []
    assert audit_verify_chains()[1] == []


def test_the_anchor_entry_names_the_chain_the_place_and_the_head_hash():
    head = ChainHead("licence:12", 40, "ab" * 32)
    assert anchor_entry(head) == b"khutwa-audit/v1\nlicence:12\n40\n" + b"ab" * 32 + b"\n"
