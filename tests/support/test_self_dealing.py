"""A quotation from a supplier to themself cannot be the basis of support (issue 10): the same
person (account or CPR), a business the supplier acts for, or the supplier's own household."""

import datetime as dt

import pytest
from django.utils import timezone

from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.documents import services as docs
from khutwa.errors import Refused
from khutwa.licensing import services as licensing
from khutwa.licensing.models import Application
from khutwa.support import services
from khutwa.support.eligibility import evaluate
from khutwa.support.models import Programme, SupportApplication
from tests.api.test_licensing_api import auth
from tests.documents.conftest import line
from tests.licensing.factories import applicant

pytestmark = pytest.mark.django_db


def quote(supplier, customer):
    return docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="quotation",
            customer=customer.pk,
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            lines=[line(quantity="10", unit_price="40")],
        ),
    ).document


def rule(user, programme, quotation):
    (result,) = [
        r
        for r in evaluate(programme=programme, user=user, quotation=quotation, today=timezone.localdate())
        if r.rule == "not_self_dealing"
    ]
    return result


def test_the_rule_passes_for_an_arms_length_sale_and_says_why(programme, claimant, quotation):
    result = rule(claimant, programme, quotation)
    assert result.passed
    number = quotation.licence.number
    assert number in result.explanation_en and number in result.explanation_ar


def test_a_holder_quoting_to_their_own_cpr_is_refused_and_nothing_is_stored(programme, supplier):
    Programme.objects.filter(pk=programme.pk).update(beneficiaries="holders")
    supplier = type(supplier).objects.get(pk=supplier.pk)
    to_self = docs.customer_create(actor=supplier, kind="individual", cpr=supplier.cpr, name_en="Me")
    quotation = quote(supplier, to_self)
    result = rule(supplier, programme, quotation)
    assert not result.passed
    assert "your own licence" in result.explanation_en and "بترخيصك" in result.explanation_ar
    with pytest.raises(Refused) as refused:
        services.application_create(
            actor=supplier, programme_code=programme.code, quotation_ref=str(quotation.public_id)
        )
    assert refused.value.field == "eligibility" and "your own licence" in str(refused.value)
    assert not SupportApplication.objects.exists()


def test_a_business_the_supplier_acts_for_is_self_dealing_even_unchecked(programme, supplier, officer):
    """The supplier declared (unchecked) that they act for CR 145678-1; a partner account, checked
    by Tamkeen for the same CR, applies on a quotation addressed to it."""
    services.enterprise_register(actor=supplier, cr_number="145678-1", name_en="Family firm")
    partner = applicant(cpr="870404004", username="partner")
    user_set_roles(user=partner, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
    link = services.enterprise_register(actor=partner, cr_number="145678-1", name_en="Family firm")
    services.enterprise_decide(actor=officer, enterprise=link, decision="verify")
    firm = docs.customer_create(actor=supplier, kind="business", cr_number="145678-1", name_en="Family firm")
    quotation = quote(supplier, firm)
    result = rule(partner, programme, quotation)
    assert not result.passed
    assert "145678-1" in result.explanation_en and "acts for" in result.explanation_en
    assert "145678-1" in result.explanation_ar
    # Another business, not declared by the supplier, is fine.
    other = applicant(cpr="870505005", username="other")
    user_set_roles(user=other, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
    services.enterprise_decide(
        actor=officer,
        enterprise=services.enterprise_register(actor=other, cr_number="145690-1", name_en="Other"),
        decision="verify",
    )
    arms_length = quote(
        supplier, docs.customer_create(actor=supplier, kind="business", cr_number="145690-1", name_en="Other")
    )
    assert rule(other, programme, arms_length).passed


def test_the_suppliers_household_is_self_dealing(world, programme, claimant, quotation):
    """The claimant once applied for a licence at the home where the supplier's licence is
    registered (a closed application: a home holds one open application or live licence)."""
    assert rule(claimant, programme, quotation).passed
    home = Application.objects.filter(licence=quotation.licence).first()
    # The claimant's own application, withdrawn; its home is the supplier's (written to the row:
    # the services refuse a second open application at a home, which is not this test's point).
    earlier = world.draft(user=claimant, cpr=claimant.cpr)
    licensing.application_withdraw(actor=claimant, application=earlier)
    Application.objects.filter(pk=earlier.pk).update(
        **{f: getattr(home, f) for f in ("flat", "building", "road", "block", "address_key")}
    )
    result = rule(claimant, programme, quotation)
    assert not result.passed
    assert "household" in result.explanation_en and "الأسرة" in result.explanation_ar
    earlier.delete()
    assert rule(claimant, programme, quotation).passed


def test_the_api_and_the_page_explain_the_refusal_in_both_languages(client, programme, supplier):
    Programme.objects.filter(pk=programme.pk).update(beneficiaries="holders")
    supplier = type(supplier).objects.get(pk=supplier.pk)
    quotation = quote(
        supplier, docs.customer_create(actor=supplier, kind="individual", cpr=supplier.cpr, name_en="Me")
    )
    for language, words in (("en", "your own licence"), ("ar", "بترخيصك")):
        result = client.post(
            "/api/v1/support/eligibility",
            {"programme": programme.code, "quotation": str(quotation.public_id)},
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE=language,
            **auth(supplier),
        ).json()
        (explained,) = [r for r in result["rules"] if r["rule"] == "not_self_dealing"]
        assert result["eligible"] is False and not explained["passed"]
        client.force_login(supplier)
        page = client.post(
            f"/{language}/support/apply/",
            {"programme": programme.code, "quotation": str(quotation.public_id), "submit": "1"},
        ).content.decode()
        assert words in page
    assert not SupportApplication.objects.exists()
