"""Forms that work: one field template, the error summary, errors named as the form names them
(never an internal key), the verification's reasons as sentences, the type change of the
document form that keeps what was typed, and the application form's open-application notice."""

import html

import pytest
from django.template import Context, Template
from django.utils import translation

from khutwa.licensing.models import Application
from khutwa.portal.fields import Problem
from khutwa.portal.forms import ApplicationForm, TrackForm
from khutwa.portal.problems import document_problems, verification_reason, verification_reasons
from tests.licensing.factories import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def render(text: str, **context) -> str:
    return Template("{% load khutwa %}" + text).render(Context(context))


# --- the field template -------------------------------------------------------------------


def test_the_field_template_styles_ties_and_marks_every_kind_of_widget(world):
    form = ApplicationForm({"phone": "12"})
    form.is_valid()
    form.add_error("phone", "Enter a Bahraini phone number.")
    form.add_error("tier", "Choose a tier.")
    page = render(
        "{% field form.phone %}{% field form.governorate %}{% field form.tier %}{% field form.activities %}",
        form=form,
    )
    # An input: Bootstrap's class, required, invalid, its error tied to it.
    assert 'class="form-control is-invalid"' in page
    assert 'aria-describedby="id_phone-error"' in page and 'id="id_phone-error"' in page
    assert 'aria-invalid="true"' in page and 'aria-required="true"' in page
    # A select is a form-select; radios and checkboxes are form-check-inputs in a fieldset.
    assert 'class="form-select"' in page and 'name="governorate"' in page
    assert page.count('class="form-check-input"') >= 3
    assert 'role="radiogroup" aria-required="true" aria-invalid="true"' in page
    assert 'aria-describedby="id_tier-help id_tier-error"' in page and 'id="id_tier-help"' in page
    # The required mark, seen and heard.
    assert '<span class="text-danger" aria-hidden="true">*</span>' in page
    assert "(required)" in page


def test_an_optional_field_is_not_marked_required():
    page = render("{% field form.email %}", form=ApplicationForm())
    assert "required" not in page and 'class="form-control"' in page and "aria-invalid" not in page


def test_the_error_summary_links_each_error_to_its_field_and_takes_focus():
    form = TrackForm({"reference": "", "cpr_last4": "12"})
    assert not form.is_valid()
    page = render("{% error_summary form %}", form=form)
    assert 'role="alert"' in page and 'tabindex="-1"' in page and "data-error-summary" in page
    assert "There is a problem" in page
    assert 'href="#id_reference"' in page and 'href="#id_cpr_last4"' in page
    assert "Enter exactly four digits." in page
    assert render("{% error_summary form %}", form=TrackForm()).strip() == ""


def test_the_error_summary_is_in_the_pages_language():
    with translation.override("ar"):
        form = TrackForm({"reference": "", "cpr_last4": "12"})
        form.is_valid()
        page = render("{% error_summary form %}", form=form)
    assert "هذا الحقل مطلوب" in page  # Django's own Arabic "This field is required."


# --- the documents service's errors as the form names them ----------------------------------


def test_line_errors_name_the_line_and_field_and_link_to_the_row_it_was_typed_in():
    errors = {
        "lines[0].unit_price": ["Enter a price of zero or more."],
        "lines[1].description": ["Describe the item or service."],
        "customer": ["Choose a customer."],
        "licence": ["Your licence is suspended."],
        "some.internal.key": ["Something else."],
    }
    # The form's rows 0 and 2 were filled (row 1 was left empty and not sent).
    summary, inline = document_problems(errors, [0, 2])
    assert Problem("l0p", "Line 1, unit price: Enter a price of zero or more.") in summary
    assert Problem("l2d", "Line 3, description: Describe the item or service.") in summary
    assert Problem("id_customer", "Customer: Choose a customer.") in summary
    assert Problem("", "Your licence is suspended.") in summary
    assert Problem("", "Something else.") in summary
    assert inline == {
        "l0p": ["Enter a price of zero or more."],
        "l2d": ["Describe the item or service."],
        "id_customer": ["Choose a customer."],
    }
    assert not any("lines[" in p.text or "internal" in p.text for p in summary)


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("Signature 'Signature1': the signed bytes were changed after signing (digest mismatch).", "changed"),
        ("payload hash differs from the sealed hash", "does not match"),
        ("signature does not match the seal", "signature"),
        ("the stored total (1.000) differs from the sealed total (11.000)", "does not match"),
        ("the next document of this licence's chain (counter 4) is missing", "chain"),
        ("no such document was issued on Khutwa", "No such document"),
        ("something no one foresaw", "does not verify"),
    ],
)
def test_verification_reasons_become_sentences(reason, words):
    sentence = verification_reason(reason)
    assert words in sentence and sentence != reason
    assert "digest" not in sentence and "mismatch" not in sentence and "sealed hash" not in sentence


def test_each_sentence_is_said_once():
    assert (
        len(
            verification_reasons(
                ["payload hash differs from the sealed hash", "the QR's hash is not this document's"]
            )
        )
        == 1
    )


# --- the application form --------------------------------------------------------------------


def test_an_applicant_with_an_open_application_is_told_before_filling_anything(client, world):
    client.force_login(world.applicant)
    page = client.get("/en/applications/new/").content.decode()
    assert 'id="application-form"' in page and 'id="open-application"' not in page
    client.post(
        "/en/applications/new/",
        {
            "name_ar": "زينب",
            "name_en": "Zainab",
            "phone": "33445566",
            "building": "12",
            "road": "34",
            "block": "905",
            "area": "Riffa",
            "governorate": "southern",
            "trade_name": "Zainab Sews",
            "tier": "basic",
            "activities": ["sewing-abayas"],
        },
    )
    application = Application.objects.get()
    page = client.get("/ar/applications/new/").content.decode()
    assert 'id="open-application"' in page and application.reference in page
    assert f'href="/ar/applications/{application.pk}/"' in page
    assert 'id="application-form"' not in page


def test_the_tier_step_explains_each_tier_and_carries_its_limit(client, world):
    client.force_login(world.applicant)
    page = html.unescape(client.get("/en/applications/new/").content.decode())
    assert "data-max-activities=" in page and "data-tier-limit" in page
    assert "annual turnover up to" in page and "licence fee" in page
    # Phone and names come from the account.
    assert f'value="{world.applicant.cpr}"' in page
    if world.applicant.phone:
        assert f'value="{world.applicant.phone}"' in page
