"""A claim rests only on the claimant's own documents: a stranger cannot put someone else's
invoice into a claim, reserve it and block the real customer's claim (issue 10)."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.documents import services as docs
from khutwa.support import services
from khutwa.support.models import Claim, ClaimDocument, Programme, SupportApplication
from tests.api.test_licensing_api import auth
from tests.documents.conftest import line
from tests.licensing.factories import applicant

pytestmark = pytest.mark.django_db

UNKNOWN = "no official document addressed to you matches this id or QR code"


def approve(programme, user, officer, quotation):
    application = services.application_create(
        actor=user, programme_code=programme.code, quotation_ref=str(quotation.public_id)
    )
    return services.application_decide(actor=officer, application=application, decision="approve")


def issue(supplier, **data):
    return docs.document_issue(actor=supplier, data=docs.DocumentInput(**data)).document


@pytest.fixture
def victim_sale(programme, claimant, officer, supplier, book, quotation):
    """The real customer's approved application, invoice and receipt."""
    application = approve(programme, claimant, officer, quotation)
    invoice = issue(
        supplier,
        type="invoice",
        customer=book.pk,
        quotation=str(quotation.public_id),
        tamkeen_application_number=application.reference,
        lines=[line(quantity="10", unit_price="40")],
    )
    receipt = issue(
        supplier,
        type="receipt",
        customer=book.pk,
        payment_method="cash",
        payment_amount="400",
        allocations=[(str(invoice.public_id), "400")],
    )
    return application, invoice, receipt


@pytest.fixture
def stranger(db):
    user = applicant(cpr="811111118", username="stranger")
    user_set_roles(user=user, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
    return user


@pytest.fixture
def stranger_application(programme, stranger, officer, supplier):
    """The stranger has an approved application of their own (on their own quotation)."""
    entry = docs.customer_create(actor=supplier, kind="individual", cpr=stranger.cpr, name_en="Stranger")
    own_quotation = issue(
        supplier,
        type="quotation",
        customer=entry.pk,
        valid_until=timezone.localdate() + dt.timedelta(days=30),
        lines=[line(quantity="1", unit_price="40")],
    )
    return approve(programme, stranger, officer, own_quotation)


def nothing_stored(*applications):
    assert not Claim.objects.exists() and not ClaimDocument.objects.exists()
    for application in applications:
        application.refresh_from_db()
        assert application.status == "approved"


def test_a_stranger_cannot_claim_on_someone_elses_invoice_and_the_real_customer_then_claims(
    stranger, stranger_application, victim_sale, claimant
):
    application, invoice, receipt = victim_sale
    with pytest.raises(ValidationError) as refused:
        services.claim_submit(
            actor=stranger,
            application=stranger_application,
            document_refs=[str(invoice.public_id), str(receipt.public_id)],
        )
    errors = refused.value.message_dict
    assert set(errors) == {"documents[0]", "documents[1]"}
    assert errors["documents[0]"] == [f"Document 1: {UNKNOWN}."]
    assert invoice.number not in str(errors)  # nothing about a document the stranger may not see
    nothing_stored(stranger_application, application)
    # The real customer's claim is not blocked (before: 409 "already used by another claim").
    claim = services.claim_submit(
        actor=claimant,
        application=application,
        document_refs=[str(invoice.public_id), str(receipt.public_id)],
    )
    assert all(c["passed"] for c in claim.checks) and claim.payable == Decimal("200.000")


def test_an_unknown_a_malformed_and_a_foreign_id_get_the_same_answer(
    stranger, stranger_application, victim_sale
):
    _application, invoice, _receipt = victim_sale
    answers = []
    for ref in (
        str(invoice.public_id),
        str(uuid.uuid4()),
        "not-an-id",
        f"https://x/verify/{invoice.public_id}",
    ):
        with pytest.raises(ValidationError) as refused:
            services.claim_submit(actor=stranger, application=stranger_application, document_refs=[ref])
        answers.append(refused.value.message_dict)
    assert all(a == {"documents[0]": [f"Document 1: {UNKNOWN}."]} for a in answers)
    nothing_stored(stranger_application)


def test_one_foreign_document_refuses_the_whole_claim_naming_only_that_entry(
    programme, claimant, officer, supplier, book, quotation, stranger
):
    application = approve(programme, claimant, officer, quotation)
    own = issue(
        supplier,
        type="invoice",
        customer=book.pk,
        quotation=str(quotation.public_id),
        tamkeen_application_number=application.reference,
        lines=[line(quantity="1", unit_price="40")],
    )
    entry = docs.customer_create(actor=supplier, kind="individual", cpr=stranger.cpr, name_en="Stranger")
    foreign = issue(supplier, type="invoice", customer=entry.pk, lines=[line()])
    with pytest.raises(ValidationError) as refused:
        services.claim_submit(
            actor=claimant,
            application=application,
            document_refs=[str(own.public_id), str(foreign.public_id)],
        )
    assert refused.value.message_dict == {"documents[1]": [f"Document 2: {UNKNOWN}."]}
    nothing_stored(application)


def test_a_holders_own_issued_document_is_named_as_not_addressed_to_them(
    programme, claimant, officer, supplier, book, quotation
):
    """A licence holder who is also a beneficiary can see their own issued documents, so the
    refusal may name the number (it reveals nothing new)."""
    Programme.objects.filter(pk=programme.pk).update(requires_quotation=False, beneficiaries="holders")
    programme.eligible_categories.clear()
    supplier = type(supplier).objects.get(pk=supplier.pk)  # with the holder role it now has
    application = services.application_create(actor=supplier, programme_code=programme.code)
    # (Approving needs an eligible amount, i.e. a quotation from another supplier: not the point.)
    SupportApplication.objects.filter(pk=application.pk).update(status="approved")
    application.refresh_from_db()
    sold = issue(supplier, type="invoice", customer=book.pk, lines=[line()])
    with pytest.raises(ValidationError) as refused:
        services.claim_submit(actor=supplier, application=application, document_refs=[str(sold.public_id)])
    assert refused.value.message_dict == {
        "documents[0]": [f"Document 1 ({sold.number}) is not addressed to you."]
    }
    nothing_stored(application)


def split_pair(supplier, book, quotation, application):
    return [
        i.document
        for i in docs.invoice_split(
            actor=supplier,
            data=docs.DocumentInput(
                type="invoice",
                customer=book.pk,
                quotation=str(quotation.public_id),
                tamkeen_application_number=application.reference,
                lines=[line(quantity="10", unit_price="40")],
            ),
            tamkeen_rate=Decimal("0.5"),
        )
    ]


def test_tamkeens_share_needs_the_claimants_own_share_in_the_same_claim(
    programme, claimant, officer, supplier, book, quotation, stranger, stranger_application
):
    Programme.objects.filter(pk=programme.pk).update(split_invoicing=True)
    programme.refresh_from_db()
    application = approve(programme, claimant, officer, quotation)
    tamkeen_part, customer_part = split_pair(supplier, book, quotation, application)
    # The stranger, with Tamkeen's share of someone else's pair, alone or with the other share.
    for refs in ([tamkeen_part], [tamkeen_part, customer_part]):
        with pytest.raises(ValidationError) as refused:
            services.claim_submit(
                actor=stranger,
                application=stranger_application,
                document_refs=[str(d.public_id) for d in refs],
            )
        assert refused.value.message_dict["documents[0]"] == [f"Document 1: {UNKNOWN}."]
        assert tamkeen_part.number not in str(refused.value) and customer_part.number not in str(
            refused.value
        )
    # The customer, with Tamkeen's share alone: told which of their own documents to add.
    with pytest.raises(ValidationError) as refused:
        services.claim_submit(
            actor=claimant, application=application, document_refs=[str(tamkeen_part.public_id)]
        )
    assert refused.value.message_dict == {
        "documents[0]": [
            f"Document 1 ({tamkeen_part.number}) is Tamkeen's share of a split invoice: claim it together "
            f"with your own share of the pair, {customer_part.number}."
        ]
    }
    nothing_stored(application, stranger_application)
    claim = services.claim_submit(
        actor=claimant,
        application=application,
        document_refs=[str(tamkeen_part.public_id), str(customer_part.public_id)],
    )
    assert ClaimDocument.objects.filter(claim=claim).count() == 2


def test_the_api_refuses_a_foreign_document_with_422_naming_the_entry_and_stores_nothing(
    client, stranger, stranger_application, victim_sale, claimant
):
    application, invoice, receipt = victim_sale
    response = client.post(
        "/api/v1/support/claims",
        {"application": stranger_application.pk, "documents": [str(invoice.public_id)]},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **auth(stranger),
    )
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "documents[0]", "message": f"Document 1: {UNKNOWN}."}]
    nothing_stored(stranger_application, application)
    # Someone else's application is 404, as before, and nothing changes either.
    other = client.post(
        "/api/v1/support/claims",
        {"application": application.pk, "documents": [str(invoice.public_id)]},
        content_type="application/json",
        **auth(stranger),
    )
    assert other.status_code == 404
    nothing_stored(application)
    ok = client.post(
        "/api/v1/support/claims",
        {"application": application.pk, "documents": [str(invoice.public_id), str(receipt.public_id)]},
        content_type="application/json",
        **auth(claimant),
    )
    assert ok.status_code == 201 and ok.json()["payable"] == "200.000"


def test_the_page_shows_why_and_stores_nothing(client, stranger, stranger_application, victim_sale, claimant):
    application, invoice, receipt = victim_sale
    client.force_login(stranger)
    url = f"/en/support/applications/{stranger_application.pk}/claim/"
    response = client.post(url, {"documents": f"{invoice.public_id}\n{receipt.public_id}"}, follow=True)
    page = response.content.decode()
    assert f"Document 1: {UNKNOWN}." in page and f"Document 2: {UNKNOWN}." in page
    assert invoice.number not in page
    nothing_stored(stranger_application, application)
    assert (
        client.post(
            f"/en/support/applications/{application.pk}/claim/", {"documents": str(invoice.public_id)}
        ).status_code
        == 404
    )
    nothing_stored(application)
    client.force_login(claimant)
    done = client.post(
        f"/en/support/applications/{application.pk}/claim/",
        {"documents": f"{invoice.public_id}\n{receipt.public_id}"},
    )
    assert done.status_code == 302 and "/support/claims/" in done["Location"]
    assert SupportApplication.objects.get(pk=application.pk).status == "claimed"


def test_no_account_can_act_for_tamkeens_own_cr(settings, stranger):
    with pytest.raises(ValidationError) as refused:
        services.enterprise_register(actor=stranger, cr_number=settings.KHUTWA_TAMKEEN_CR, name_en="Tamkeen")
    assert "Labour Fund" in refused.value.message_dict["cr_number"][0]
    from khutwa.accounts.models import Enterprise

    assert not Enterprise.objects.filter(user=stranger).exists()
