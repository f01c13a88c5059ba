"""The quotation is given by the number the customer sees on it (QUO-2026-000002) or its QR
code, never an internal id; before it is given the page shows the rules, and a programme the
person can never join says why."""

import datetime as dt

import pytest
from django.utils import timezone

from khutwa.documents import services as docs
from khutwa.support.models import SupportApplication
from tests.api.test_licensing_api import auth
from tests.documents.conftest import line
from tests.licensing.factories import applicant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_customer_applies_with_the_quotations_number(client, programme, claimant, quotation, language):
    client.force_login(claimant)
    page = client.get(f"/{language}/support/apply/?programme=bdsupport").content.decode()
    assert f'<option value="{quotation.number}">' in page  # the customer's own quotations, suggested
    number = quotation.number.replace("-000", "-")  # the zeros may be left out
    live = client.post(
        f"/{language}/support/apply/", {"programme": "bdsupport", "quotation": number}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-eligible="true"' in live
    response = client.post(
        f"/{language}/support/apply/",
        {"programme": "bdsupport", "quotation": quotation.number, "submit": "1"},
    )
    assert response.status_code == 302
    assert SupportApplication.objects.get().quotation == quotation


def test_a_number_that_is_none_of_the_customers_quotations_is_refused_naming_the_field(
    client, programme, claimant, quotation
):
    client.force_login(claimant)
    response = client.post(
        "/ar/support/apply/", {"programme": "bdsupport", "quotation": "QUO-2026-999999", "submit": "1"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'href="#id_quotation"' in page and "QUO-2026-999999" in page
    assert not SupportApplication.objects.exists()
    # Another person's quotation is not found by its number either.
    stranger = applicant(cpr="880404004", username="stranger")
    client.force_login(stranger)
    response = client.post(
        "/en/support/apply/", {"programme": "bdsupport", "quotation": quotation.number, "submit": "1"}
    )
    assert (
        response.status_code == 400 and "None of your quotations has the number" in response.content.decode()
    )


def test_the_api_takes_the_number_as_quotation_number(client, programme, claimant, quotation):
    headers = auth(claimant)
    result = client.post(
        "/api/v1/support/eligibility",
        {"programme": "bdsupport", "quotation_number": quotation.number},
        content_type="application/json",
        **headers,
    ).json()
    assert result["eligible"] is True
    created = client.post(
        "/api/v1/support/applications",
        {"programme": "bdsupport", "quotation_number": quotation.number},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201 and created.json()["quotation"] == str(quotation.public_id)


def test_two_holders_quotations_with_one_number_ask_for_the_qr(client, world, programme, claimant, quotation):
    other = applicant(cpr="850505005", username="other-holder")
    world.licensed(
        user=other, building="77", road="8", block="101", activities=["home-meals"], tier="standard"
    )
    book = docs.customer_create(actor=other, kind="individual", cpr=claimant.cpr, name_en="Yousif")
    twin = docs.document_issue(
        actor=other,
        data=docs.DocumentInput(
            type="quotation",
            customer=book.pk,
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            lines=[line(quantity="1", unit_price="10")],
        ),
    ).document
    assert twin.number == quotation.number
    client.force_login(claimant)
    page = client.post(
        "/en/support/apply/", {"programme": "bdsupport", "quotation": quotation.number, "submit": "1"}
    ).content.decode()
    assert "scan its QR code instead" in page
    assert not SupportApplication.objects.exists()


def test_before_a_quotation_the_page_shows_the_rules_not_red_crosses(client, programme, claimant):
    client.force_login(claimant)
    page = client.post(
        "/en/support/apply/", {"programme": "bdsupport", "quotation": ""}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-state="failed"' not in page and 'id="never"' not in page
    assert 'data-rule="quotation" data-state="pending"' in page and 'id="eligible"' not in page
    assert 'data-rule="activity_eligible" data-state="pending"' in page
    assert "An official quotation addressed to you, still valid." in page


def test_a_programme_the_person_can_never_join_says_why(client, programme, claimant):
    programme.beneficiaries = "holders"
    programme.save()
    client.force_login(claimant)
    page = client.get("/en/support/apply/?programme=bdsupport").content.decode()
    assert 'id="never"' in page and "The programme is for licence holders only." in page


def test_the_catalogue_tells_a_signed_in_person_why_they_cannot_join(client, programme, claimant):
    client.force_login(claimant)
    page = client.get("/en/programmes/").content.decode()
    assert "data-why-not" not in page and "Check eligibility and apply" in page
    programme.beneficiaries = "holders"
    programme.save()
    page = client.get("/en/programmes/").content.decode()
    assert "data-why-not" in page and "The programme is for licence holders only." in page
    assert "Check eligibility and apply" not in page


def test_live_the_error_shows_above_the_rules_and_a_full_page_has_it_once_in_the_summary(
    client, programme, claimant
):
    client.force_login(claimant)
    data = {"programme": "bdsupport", "quotation": "QUO-2026-000777"}
    live = client.post("/en/support/apply/", data, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="rules-error" role="alert"' in live and "QUO-2026-000777" in live
    page = client.post("/en/support/apply/", {**data, "submit": "1"}).content.decode()
    assert 'id="error-summary"' in page and 'id="rules-error"' not in page
    assert page.count("None of your quotations has the number") == 1
