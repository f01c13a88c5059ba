"""Split invoicing claims (Tamkeen's share invoiced to Tamkeen, paid to the supplier) and
Tamkeen customers that are businesses, identified by a commercial registration an officer checks."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.documents import selectors as doc_selectors
from khutwa.documents import services as docs
from khutwa.errors import Refused
from khutwa.support import services
from khutwa.support.exports import batch_pain001_xml
from khutwa.support.models import Programme
from tests.documents.conftest import line
from tests.licensing.factories import applicant

pytestmark = pytest.mark.django_db

SUPPLIER_IBAN = "BH67 BMAG 0000 1299 1234 56"


def approved(programme, claimant, officer, quotation):
    application = services.application_create(
        actor=claimant, programme_code=programme.code, quotation_ref=str(quotation.public_id)
    )
    return services.application_decide(actor=officer, application=application, decision="approve")


def split_pair(supplier, book, quotation, application, rate="0.5"):
    return docs.invoice_split(
        actor=supplier,
        data=docs.DocumentInput(
            type="invoice",
            customer=book.pk,
            quotation=str(quotation.public_id),
            tamkeen_application_number=application.reference,
            lines=[line(quantity="10", unit_price="40")],
        ),
        tamkeen_rate=Decimal(rate),
    )


def receipt_for(supplier, book, invoice, amount):
    return docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="receipt",
            customer=book.pk,
            payment_method="cash",
            payment_amount=amount,
            allocations=[(str(invoice.public_id), amount)],
        ),
    ).document


def checks_of(claim):
    return {(c["check"], c["document"]): c for c in claim.checks}


def test_a_split_invoicing_claim_passes_and_pays_tamkeens_share_to_the_supplier(
    programme, claimant, officer, finance, supplier, book, quotation
):
    Programme.objects.filter(pk=programme.pk).update(split_invoicing=True)
    programme.refresh_from_db()
    application = approved(programme, claimant, officer, quotation)
    tamkeen_part, customer_part = (i.document for i in split_pair(supplier, book, quotation, application))
    assert tamkeen_part.customer.is_tamkeen and tamkeen_part.total == customer_part.total == Decimal(
        "200.000"
    )
    receipt = receipt_for(supplier, book, customer_part, "200")  # the customer paid their part
    claim = services.claim_submit(
        actor=claimant,
        application=application,
        document_refs=[str(tamkeen_part.public_id), str(customer_part.public_id), str(receipt.public_id)],
    )
    failed = [c for c in claim.checks if not c["passed"]]
    assert failed == []
    checks = checks_of(claim)
    assert "Tamkeen's share" in checks[("addressed_to_claimant", tamkeen_part.number)]["reason_en"]
    pair = f"{tamkeen_part.number} + {customer_part.number}"
    assert checks[("split_invoicing", pair)]["passed"]
    assert checks[("within_quotation", pair)]["passed"]  # the pair, not each half, against 400
    assert claim.payable == Decimal("200.000") and claim.payee == supplier
    services.claim_decide(actor=officer, claim=claim, decision="approve")
    with pytest.raises(Refused) as exc:  # the supplier has no IBAN yet: it is who gets paid
        services.batch_create(actor=finance, claim_ids=[claim.pk])
    assert "supplier" in str(exc.value)
    services.beneficiary_set_iban(actor=supplier, iban=SUPPLIER_IBAN)
    batch = services.batch_create(actor=finance, claim_ids=[claim.pk])
    payout = batch.payouts.get()
    assert payout.iban == SUPPLIER_IBAN.replace(" ", "") and payout.amount == Decimal("200.000")
    assert payout.creditor_name == supplier.licences.get().trade_name
    assert SUPPLIER_IBAN.replace(" ", "") in batch_pain001_xml(batch).decode()


def test_split_invoices_fail_where_the_programme_does_not_split_or_the_partner_is_missing(
    programme, claimant, officer, supplier, book, quotation
):
    application = approved(programme, claimant, officer, quotation)  # split_invoicing is off
    tamkeen_part, customer_part = (i.document for i in split_pair(supplier, book, quotation, application))
    receipt = receipt_for(supplier, book, customer_part, "200")
    claim = services.claim_submit(
        actor=claimant,
        application=application,
        document_refs=[str(tamkeen_part.public_id), str(customer_part.public_id), str(receipt.public_id)],
    )
    assert not checks_of(claim)[("addressed_to_claimant", tamkeen_part.number)]["passed"]
    services.claim_decide(actor=officer, claim=claim, decision="reject", reason="Not a split programme")
    Programme.objects.filter(pk=programme.pk).update(split_invoicing=True)
    application.refresh_from_db()
    # Tamkeen's share alone is addressed to the Labour Fund: refused before anything is stored,
    # naming the claimant's own share to add (tests/support/test_claim_ownership.py).
    with pytest.raises(ValidationError) as refused:
        services.claim_submit(
            actor=claimant, application=application, document_refs=[str(tamkeen_part.public_id)]
        )
    assert customer_part.number in refused.value.message_dict["documents[0]"][0]
    # The checks say the same as a second line.
    from khutwa.support import checks as claim_checks

    second_line = claim_checks.run(application=application, documents=[tamkeen_part], user=claimant)
    failed = {(c.check, c.document) for c in second_line if not c.passed}
    assert {
        ("addressed_to_claimant", tamkeen_part.number),
        ("split_invoicing", tamkeen_part.number),
    } <= failed


def test_a_share_above_the_subsidy_rate_fails_the_split_check(
    programme, claimant, officer, supplier, book, quotation
):
    Programme.objects.filter(pk=programme.pk).update(split_invoicing=True)
    programme.refresh_from_db()
    application = approved(programme, claimant, officer, quotation)
    tamkeen_part, customer_part = (
        i.document for i in split_pair(supplier, book, quotation, application, rate="0.8")
    )
    receipt = receipt_for(supplier, book, customer_part, "80")
    claim = services.claim_submit(
        actor=claimant,
        application=application,
        document_refs=[str(tamkeen_part.public_id), str(customer_part.public_id), str(receipt.public_id)],
    )
    assert not checks_of(claim)[("split_invoicing", f"{tamkeen_part.number} + {customer_part.number}")][
        "passed"
    ]
    assert claim.payable == application.entitlement == Decimal("200.000")  # never above the reservation


@pytest.fixture
def business_user(db):
    user = applicant(cpr="850505050", username="dar")
    user_set_roles(user=user, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
    return user


@pytest.fixture
def business_quotation(supplier):
    entry = docs.customer_create(
        actor=supplier, kind="business", cr_number="145678-1", name_en="Al Dar Restaurant"
    )
    return docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="quotation",
            customer=entry.pk,
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            lines=[line(quantity="10", unit_price="40")],
        ),
    ).document


def test_a_business_reaches_its_documents_only_once_an_officer_checked_its_cr(
    programme, business_user, officer, business_quotation
):
    def visible():
        return doc_selectors.documents_for(business_user).filter(pk=business_quotation.pk).exists()

    enterprise = services.enterprise_register(
        actor=business_user, cr_number="145678-1", name_en="Al Dar Restaurant"
    )
    business_user.refresh_from_db()
    assert enterprise.status == "pending" and not visible()
    assert not doc_selectors.addressed_to(business_user, business_quotation.customer)
    with pytest.raises(Refused):  # not yet: the quotation is not addressed to an unchecked account
        services.application_create(
            actor=business_user,
            programme_code=programme.code,
            quotation_ref=str(business_quotation.public_id),
        )
    services.enterprise_decide(actor=officer, enterprise=enterprise, decision="verify")
    business_user = type(business_user).objects.get(pk=business_user.pk)
    assert business_user.verified_cr == "145678-1" and visible()
    docs.quotation_respond(actor=business_user, quotation=business_quotation, accept=True)
    application = services.application_create(
        actor=business_user, programme_code=programme.code, quotation_ref=str(business_quotation.public_id)
    )
    assert application.status == "submitted"
    # changing the CR asks for a new check, and hides the old CR's documents meanwhile
    services.enterprise_register(actor=business_user, cr_number="145679-1", name_en="Al Dar")
    business_user = type(business_user).objects.get(pk=business_user.pk)
    assert business_user.verified_cr == "" and not visible()


def test_enterprise_input_and_decisions_are_checked(business_user, officer, claimant):
    with pytest.raises(ValidationError) as exc:
        services.enterprise_register(actor=business_user, cr_number="12A", name_en="")
    assert set(exc.value.message_dict) == {"cr_number", "name_ar"}
    enterprise = services.enterprise_register(actor=business_user, cr_number="145678-1", name_en="Al Dar")
    with pytest.raises(Refused):  # only officers decide
        services.enterprise_decide(actor=claimant, enterprise=enterprise, decision="verify")
    with pytest.raises(Refused):  # a refusal says why
        services.enterprise_decide(actor=officer, enterprise=enterprise, decision="refuse")
    services.enterprise_decide(actor=officer, enterprise=enterprise, decision="verify")
    with pytest.raises(Refused):
        services.enterprise_decide(actor=officer, enterprise=enterprise, decision="refuse", reason="x")
    with pytest.raises(Refused) as taken:  # one verified account per CR
        services.enterprise_register(actor=claimant, cr_number="145678-1", name_en="Impostor")
    assert taken.value.field == "cr_number"


def test_a_business_links_its_cr_in_the_portal_and_an_officer_confirms_it(
    client, business_user, officer, business_quotation
):
    client.force_login(business_user)
    bad = client.post("/en/support/enterprise/", {"cr_number": "ABC", "name_en": "Al Dar"}, follow=True)
    assert "commercial registration number as digits" in bad.content.decode()
    client.post("/en/support/enterprise/", {"cr_number": "145678-1", "name_en": "Al Dar Restaurant"})
    page = client.get("/en/support/").content.decode()
    assert "Awaiting a Tamkeen officer" in page and "145678-1" in page
    assert business_quotation.number not in client.get("/en/documents/").content.decode()
    assert client.get("/en/support/enterprises/1/verify/").status_code == 404  # officers only, POST
    client.force_login(officer)
    queue = client.get("/en/support/queue/").content.decode()
    assert "Al Dar Restaurant" in queue
    from khutwa.accounts.models import Enterprise

    enterprise = Enterprise.objects.get()
    client.post(f"/en/support/enterprises/{enterprise.pk}/verify/")
    client.force_login(business_user)
    assert business_quotation.number in client.get("/en/documents/").content.decode()
    detail = client.get(f"/en/documents/{business_quotation.public_id}/").content.decode()
    assert "Accept the quotation" in detail


def test_the_enterprise_api_for_the_customer_and_the_officer(client, business_user, officer, claimant):
    from tests.api.test_licensing_api import auth

    mine = auth(business_user)
    bad = client.put(
        "/api/v1/support/enterprise", {"cr_number": "x1"}, content_type="application/json", **mine
    )
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"cr_number"}
    created = client.put(
        "/api/v1/support/enterprise",
        {"cr_number": "145678-1", "name_en": "Al Dar"},
        content_type="application/json",
        **mine,
    ).json()
    assert created["status"] == "pending"
    assert client.get("/api/v1/support/enterprises", **mine).status_code == 403
    assert client.get("/api/v1/support/enterprises", **auth(claimant)).status_code == 403
    staff = auth(officer)
    listed = client.get("/api/v1/support/enterprises", **staff).json()
    assert [e["cr_number"] for e in listed["items"]] == ["145678-1"]
    url = f"/api/v1/support/enterprises/{created['id']}/decision"
    assert (
        client.post(url, {"decision": "verify"}, content_type="application/json", **mine).status_code == 404
    )
    decided = client.post(
        url, {"decision": "refuse", "reason": "Not in the register"}, content_type="application/json", **staff
    ).json()
    assert decided["status"] == "refused" and decided["reason"] == "Not in the register"


def test_the_supplier_issues_split_invoices_from_the_portal(
    client, programme, claimant, officer, supplier, quotation
):
    Programme.objects.filter(pk=programme.pk).update(split_invoicing=True)
    application = approved(programme, claimant, officer, quotation)
    client.force_login(supplier)
    page = client.get(f"/en/documents/{quotation.public_id}/").content.decode()
    assert 'id="split-invoice"' in page and application.reference in page
    response = client.post(f"/en/documents/{quotation.public_id}/split/")
    assert response.status_code == 302
    from khutwa.documents.models import Document

    pair = list(Document.objects.filter(type="invoice").order_by("counter"))
    assert [d.customer.is_tamkeen for d in pair] == [True, False]
    assert {d.tamkeen_application_number for d in pair} == {application.reference}
    assert sum(d.total for d in pair) == quotation.total and pair[0].total == Decimal("200.000")
    client.force_login(claimant)  # only the supplier may
    assert client.post(f"/en/documents/{quotation.public_id}/split/").status_code == 404


def test_information_requested_and_answered_is_kept_and_shown(
    client, programme, claimant, officer, quotation
):
    from tests.api.test_licensing_api import auth

    application = services.application_create(
        actor=claimant, programme_code=programme.code, quotation_ref=str(quotation.public_id)
    )
    services.application_decide(
        actor=officer, application=application, decision="request_info", reason="Which dates?\nAnd how many?"
    )
    with pytest.raises(Refused):
        services.application_answer(actor=claimant, application=application, answer="x" * 4001)
    application.refresh_from_db()
    assert application.status == "info_requested"  # a refused answer changes nothing
    services.application_answer(
        actor=claimant, application=application, answer="The 12th and 13th.\nTwenty people."
    )
    client.force_login(officer)
    page = client.get(f"/en/support/applications/{application.pk}/").content.decode()
    assert "Which dates?<br>And how many?" in page and "The 12th and 13th.<br>Twenty people." in page
    data = client.get(f"/api/v1/support/applications/{application.pk}", **auth(claimant)).json()
    assert [(m["from_officer"], m["text"]) for m in data["messages"]] == [
        (True, "Which dates?\nAnd how many?"),
        (False, "The 12th and 13th.\nTwenty people."),
    ]
