import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from khutwa.documents import services as docs
from khutwa.errors import Refused
from khutwa.support import services
from khutwa.support.eligibility import evaluate
from khutwa.support.models import ClaimDocument, Programme
from tests.documents.conftest import line

pytestmark = pytest.mark.django_db


def rules(programme, user, quotation=None, today=None):
    return {
        r.rule: r
        for r in evaluate(
            programme=programme, user=user, quotation=quotation, today=today or timezone.localdate()
        )
    }


def test_every_rule_passes_for_an_eligible_customer(programme, claimant, quotation):
    result = rules(programme, claimant, quotation)
    assert all(r.passed for r in result.values()), {
        k: r.explanation_en for k, r in result.items() if not r.passed
    }
    assert set(result) == {
        "programme_open",
        "beneficiary_kind",
        "not_blocked",
        "quotation",
        "not_self_dealing",
        "licence_active",
        "tier_eligible",
        "activity_eligible",
        "frequency",
        "budget_left",
    }


def test_each_rule_fails_with_its_explanation(programme, claimant, quotation, world):
    programme.is_paused = True
    programme.save()
    assert not rules(programme, claimant, quotation)["programme_open"].passed
    programme.is_paused = False
    programme.beneficiaries = "holders"
    programme.save()
    assert "licence holders only" in rules(programme, claimant, quotation)["beneficiary_kind"].explanation_en
    programme.beneficiaries = "both"
    programme.budget = programme.reserved
    programme.save()
    assert not rules(programme, claimant, quotation)["budget_left"].passed
    programme.budget = Decimal("10000")
    programme.save()
    from khutwa.catalogue.models import ActivityCategory, LicenceTier

    programme.eligible_tiers.set([LicenceTier.objects.get(code="basic")])
    assert not rules(programme, claimant, quotation)["tier_eligible"].passed
    programme.eligible_tiers.clear()
    programme.eligible_categories.set([ActivityCategory.objects.get(code="crafts")])
    failed = rules(programme, claimant, quotation)["activity_eligible"]
    assert not failed.passed and "Home-cooked meals" in failed.explanation_en and failed.explanation_ar
    programme.eligible_categories.clear()
    from khutwa.licensing.services import licence_change_status

    licence_change_status(actor=world.registrar, licence=quotation.licence, action="suspend", reason="x")
    assert not rules(programme, claimant, quotation)["licence_active"].passed
    later = timezone.localdate() + dt.timedelta(days=40)
    assert not rules(programme, claimant, quotation, today=later)["quotation"].passed


def test_a_quotation_addressed_to_someone_else_fails(programme, supplier, claimant):
    other = docs.customer_create(actor=supplier, kind="individual", cpr="811111111", name_en="Other")
    q = docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="quotation", customer=other.pk, valid_until=timezone.localdate(), lines=[line()]
        ),
    ).document
    assert "not addressed to you" in rules(programme, claimant, q)["quotation"].explanation_en


def test_the_whole_flow_reserves_claims_verifies_pays_once(
    programme, claimant, officer, finance, supplier, book, quotation
):
    application = services.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    assert application.reference.startswith("TMK-") and application.status == "submitted"
    application = services.application_decide(actor=officer, application=application, decision="approve")
    programme.refresh_from_db()
    assert application.entitlement == Decimal("200.000")  # 50% of 400
    assert programme.reserved == Decimal("200.000")
    # The invoice of the quotation carries the Tamkeen application number.
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
    claim = services.claim_submit(
        actor=claimant,
        application=application,
        document_refs=[str(invoice.public_id), str(receipt.public_id)],
    )
    assert all(c["passed"] for c in claim.checks), [c for c in claim.checks if not c["passed"]]
    assert claim.payable == Decimal("200.000")
    claim = services.claim_decide(actor=officer, claim=claim, decision="approve")
    assert claim.status == "verified"
    services.beneficiary_set_iban(actor=claimant, iban="BH67 BMAG 0000 1299 1234 56")
    batch = services.batch_create(actor=finance, claim_ids=[claim.pk])
    from khutwa.support.exports import batch_pain001_xml
    from khutwa.support.payments import validate_pain001

    assert validate_pain001(batch_pain001_xml(batch)) == []
    assert batch_pain001_xml(batch) == batch_pain001_xml(batch)  # exporting again changes nothing
    services.batch_mark_paid(actor=finance, batch=batch)
    programme.refresh_from_db()
    assert (programme.reserved, programme.paid) == (Decimal("0.000"), Decimal("200.000"))
    with pytest.raises(Refused):
        services.batch_mark_paid(actor=finance, batch=batch)
    with pytest.raises(Refused):
        services.batch_create(actor=finance, claim_ids=[claim.pk])
    programme.refresh_from_db()
    assert programme.paid == Decimal("200.000")


def test_a_document_cannot_serve_two_claims_even_past_the_checks(
    programme, claimant, officer, supplier, book, quotation
):
    from django.db import IntegrityError, transaction

    application = services.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    services.application_decide(actor=officer, application=application, decision="approve")
    invoice = docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="invoice",
            customer=book.pk,
            quotation=str(quotation.public_id),
            tamkeen_application_number=application.reference,
            lines=[line(quantity="1", unit_price="40")],
        ),
    ).document
    claim = services.claim_submit(
        actor=claimant, application=application, document_refs=[str(invoice.public_id)]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimDocument.objects.create(claim=claim, document=invoice)


def test_claim_checks_catch_tampered_misaddressed_and_out_of_scope_documents(
    programme, claimant, officer, supplier, book, quotation, world
):
    from django.db import connection

    application = services.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    services.application_decide(actor=officer, application=application, decision="approve")
    other = docs.customer_create(actor=supplier, kind="individual", cpr="822222222", name_en="Someone else")
    misaddressed = docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="invoice",
            customer=other.pk,
            tamkeen_application_number=application.reference,
            lines=[line()],
        ),
    ).document
    tampered = docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="invoice", customer=book.pk, tamkeen_application_number="TMK-OTHER", lines=[line()]
        ),
    ).document
    from khutwa.documents.triggers import triggers_suspend

    triggers_suspend(connection)  # what the database owner could do behind the application
    with connection.cursor() as cursor:
        import json

        cursor.execute(
            "UPDATE documents_document SET payload = %s WHERE id = %s",
            [json.dumps({**tampered.payload, "total": "1.000"}), tampered.pk],
        )
    # A document addressed to someone else never gets into a claim (claim_submit refuses it,
    # tests/support/test_claim_ownership.py); the checks still flag it as a second line.
    from khutwa.support import checks

    second_line = checks.run(application=application, documents=[misaddressed], user=claimant)
    failed = {(c.check, c.document) for c in second_line if not c.passed}
    assert ("addressed_to_claimant", misaddressed.number) in failed
    assert ("references_quotation", misaddressed.number) in failed
    claim = services.claim_submit(
        actor=claimant, application=application, document_refs=[str(tampered.public_id)]
    )
    failed = {(c["check"], c["document"]) for c in claim.checks if not c["passed"]}
    assert ("authentic", tampered.number) in failed
    assert ("tamkeen_number", tampered.number) in failed
    with pytest.raises(Refused):
        services.claim_decide(actor=officer, claim=claim, decision="approve")


def test_cancelling_an_approval_releases_the_reservation(programme, claimant, officer, quotation):
    application = services.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    services.application_decide(actor=officer, application=application, decision="approve")
    services.application_cancel(actor=claimant, application=application)
    programme.refresh_from_db()
    assert programme.reserved == 0


def test_expired_approvals_release_and_the_job_is_idempotent(programme, claimant, officer, quotation):
    application = services.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    services.application_decide(actor=officer, application=application, decision="approve")
    later = timezone.localdate() + dt.timedelta(days=programme.approval_valid_days + 1)
    assert services.applications_expire(today=later) == 1
    assert services.applications_expire(today=later) == 0
    programme.refresh_from_db()
    assert programme.reserved == 0


def test_a_paused_programme_refuses_applications(programme, claimant, quotation):
    Programme.objects.filter(pk=programme.pk).update(is_paused=True)
    with pytest.raises(Refused) as exc:
        services.application_create(
            actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
        )
    assert exc.value.status == 422


def test_approval_is_limited_by_the_last_of_the_budget(programme, claimant, officer, quotation):
    Programme.objects.filter(pk=programme.pk).update(budget=Decimal("150.000"))
    application = services.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    application = services.application_decide(actor=officer, application=application, decision="approve")
    assert application.entitlement == Decimal("150.000")


def test_the_demo_has_applications_in_every_state_and_partly_used_budgets(settings, tmp_path, monkeypatch):
    from django.core.management import call_command

    from khutwa.accounts.models import Enterprise
    from khutwa.support.models import ApplicationStatus, Claim, SupportApplication

    call_command("demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    states = set(SupportApplication.objects.values_list("status", flat=True))
    assert states == set(ApplicationStatus.values)
    assert {"submitted", "verified", "paid"} <= set(Claim.objects.values_list("status", flat=True))
    assert Programme.objects.filter(is_paused=True).count() == 1
    used = Programme.objects.get(code="business-development")
    assert 0 < used.paid + used.reserved < used.budget
    assert SupportApplication.objects.filter(beneficiary__username="customer", status="approved").exists()
    # a business by its checked CR, with a split-invoicing claim whose checks all pass
    split = Claim.objects.get(application__beneficiary__username="demo-business")
    assert split.status == "submitted" and all(c["passed"] for c in split.checks)
    assert split.payee.username == "holder"
    assert {e.user.username: e.status for e in Enterprise.objects.all()} == {
        "demo-business": "verified",
        "demo-business-pending": "pending",
    }
