"""The small forms on detail pages report what went wrong beside their fields: a bad value gives
the same page again (400) with the values kept, the field's error tied to it and in the error
summary at the top of that form, in the page's language, and nothing written; a refusal about no
field (the state changed meanwhile) is the summary's one sentence (409). An htmx request gets the
form alone."""

from __future__ import annotations

import datetime as dt
import html as markup
import re
from typing import Any

import pytest
from django.utils import timezone, translation

from khutwa.accounts.models import Enterprise
from khutwa.approvals.models import InfoRequest
from khutwa.licensing import services as licensing
from khutwa.support import services as support
from khutwa.support.models import Beneficiary, SupportApplication
from tests.api.test_no_server_errors import Scene
from tests.fuzzing import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def s(db) -> Scene:
    return Scene()


def summary(html: str) -> str:
    """The error summary's markup (it is on the page once, at the top of the failed form)."""
    assert html.count('id="error-summary"') == 1, "one error summary"
    start = html.index('id="error-summary"')
    return markup.unescape(html[start : html.index("</div>", start)])


def beside(html: str, element_id: str) -> str:
    """The errors printed beside an element, which points at them with aria-describedby."""
    marker = f'id="{element_id}-error">'
    assert marker in html, f"no errors beside #{element_id}"
    control = re.search(rf'<[^>]+id="{re.escape(element_id)}"[^>]*>', html)
    assert control and f"{element_id}-error" in control.group(0) and 'aria-invalid="true"' in control.group(0)
    start = html.index(marker) + len(marker)
    return markup.unescape(re.sub(r"<[^>]+>", "", html[start : html.index("\n", start)]))


def post(client: Any, user: Any, path: str, data: dict[str, str], **headers: str) -> Any:
    client.force_login(user)
    return client.post(path, data, headers=headers)


# --- The holder's / customer's support page: the IBAN and the business ---------------------------


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_wrong_iban_is_shown_beside_the_field_and_nothing_is_saved(client, s, lang):
    with translation.override(lang):  # the page's language (its Arabic comes with the catalogue)
        expected = translation.gettext("Enter a Bahraini IBAN: it starts with BH.")
    before = snapshot()
    response = post(client, s.claimant, f"/{lang}/support/iban/", {"iban": "GB82WEST12345698765432"})
    html = response.content.decode()
    assert response.status_code == 400
    assert expected in beside(html, "id_iban")
    assert 'href="#id_iban"' in summary(html)
    assert 'value="GB82WEST12345698765432"' in html  # what was typed comes back
    assert "Malformed" not in html and "schwifty" not in html  # never the checker's English
    assert snapshot() == before
    assert not Beneficiary.objects.filter(user=s.claimant).exists()


def test_an_empty_iban_asks_for_it_and_a_good_one_is_saved(client, s):
    response = post(client, s.claimant, "/en/support/iban/", {"iban": " "})
    assert response.status_code == 400
    assert "Enter your IBAN." in beside(response.content.decode(), "id_iban")
    response = post(client, s.claimant, "/en/support/iban/", {"iban": "BH67 BMAG 0000 1299 1234 56"})
    assert response.status_code == 302 and response.url == "/en/support/"
    assert Beneficiary.objects.get(user=s.claimant).iban == "BH67BMAG00001299123456"


@pytest.mark.parametrize(
    ("lang", "cr_error", "name_error", "title"),
    [
        (
            "en",
            "commercial registration number as digits",
            "Give the business's name in Arabic or English.",
            "There is a problem",
        ),
        ("ar", "", "أدخل اسم المنشأة بالعربية أو بالإنجليزية.", "توجد مشكلة"),
    ],
)
def test_the_business_form_names_each_field_in_the_pages_language(
    client, s, lang, cr_error, name_error, title
):
    before = snapshot()
    response = post(
        client, s.claimant, f"/{lang}/support/enterprise/", {"cr_number": "ABC", "name_ar": "", "name_en": ""}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert cr_error in beside(html, "ent_cr_number")
    assert name_error in beside(html, "ent_name_ar")
    box = summary(html)
    assert title in box and 'href="#ent_cr_number"' in box and 'href="#ent_name_ar"' in box
    assert 'value="ABC"' in html
    assert snapshot() == before and not Enterprise.objects.exists()


# --- A support application: the officer's decision, the claim, the answer ----------------------


@pytest.fixture
def support_application(s) -> SupportApplication:
    return support.application_create(
        actor=s.claimant, programme_code="bdsupport", quotation_ref=str(s.quotation.public_id)
    )


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_an_officer_rejecting_without_a_reason_is_told_beside_the_reason(
    client, s, support_application, lang
):
    path = f"/{lang}/support/applications/{support_application.pk}/decide/"
    before = snapshot()
    response = post(client, s.officer, path, {"decision": "reject", "reason": ""})
    html = response.content.decode()
    assert response.status_code == 400
    expected = (
        "Give the reason; the applicant will see it."
        if lang == "en"
        else "اذكر السبب، وسيطّلع عليه مقدم الطلب."
    )
    assert expected in beside(html, "id_reason")
    assert 'href="#id_reason"' in summary(html)
    assert '<option value="reject" selected>' in html  # the decision chosen is kept
    support_application.refresh_from_db()
    assert support_application.status == "submitted" and snapshot() == before


def test_deciding_an_application_decided_meanwhile_is_a_conflict_at_the_top_of_the_form(
    client, s, support_application
):
    support.application_decide(
        actor=s.officer, application=support_application, decision="reject", reason="No"
    )
    before = snapshot()
    response = post(
        client,
        s.officer,
        f"/en/support/applications/{support_application.pk}/decide/",
        {"decision": "approve"},
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert "cannot be decided" in summary(html)
    assert 'href="#' not in summary(html)  # about no field: a sentence, no link
    assert 'id="support-decision"' in html  # inside the form it came from
    support_application.refresh_from_db()
    assert support_application.status == "rejected" and snapshot() == before


@pytest.fixture
def approved(s, support_application) -> SupportApplication:
    return support.application_decide(actor=s.officer, application=support_application, decision="approve")


def test_a_claim_without_documents_or_with_an_unknown_one_is_told_beside_the_documents(client, s, approved):
    path = f"/en/support/applications/{approved.pk}/claim/"
    before = snapshot()
    response = post(client, s.claimant, path, {"documents": ""})
    assert response.status_code == 400
    assert "Attach the invoice and the other documents." in beside(response.content.decode(), "id_documents")
    response = post(client, s.claimant, path, {"documents": "INV-1999-000001"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "no official document addressed to you matches" in beside(html, "id_documents")
    assert "INV-1999-000001</textarea>" in html
    assert snapshot() == before
    approved.refresh_from_db()
    assert approved.status == "approved"


def test_an_empty_answer_to_tamkeen_is_told_beside_the_answer(client, s, support_application):
    support.application_decide(
        actor=s.officer, application=support_application, decision="request_info", reason="Which oven?"
    )
    before = snapshot()
    response = post(
        client, s.claimant, f"/en/support/applications/{support_application.pk}/answer/", {"answer": "  "}
    )
    assert response.status_code == 400
    assert "Write your answer." in beside(response.content.decode(), "id_answer")
    assert snapshot() == before


def test_a_claim_rejected_without_a_reason_is_told_beside_the_reason(client, s, approved):
    claim = support.claim_submit(
        actor=s.claimant, application=approved, document_refs=[str(s.invoice.public_id)]
    )
    before = snapshot()
    path = f"/en/support/claims/{claim.pk}/decide/"
    response = post(client, s.officer, path, {"decision": "reject", "reason": ""})
    assert response.status_code == 400
    assert "Give the reason; the applicant will see it." in beside(response.content.decode(), "id_reason")
    # Approving when checks failed is not about a field: the sentence on top, 409.
    assert not all(c["passed"] for c in claim.checks)
    response = post(client, s.officer, path, {"decision": "approve", "reason": ""})
    assert response.status_code == 409
    assert "the claim cannot be approved" in summary(response.content.decode())
    claim.refresh_from_db()
    assert claim.status == "submitted" and snapshot() == before


# --- The licence: the VAT number, suspending, renewing ------------------------------------------


def test_a_wrong_vat_number_is_told_beside_it_and_the_licence_keeps_its_own(client, s):
    before = snapshot()
    response = post(client, s.registrar, f"/en/licence/{s.licence.number}/vat/", {"vat_number": "12345"})
    html = response.content.decode()
    assert response.status_code == 400
    assert beside(html, "id_vat_number").strip()
    assert 'href="#id_vat_number"' in summary(html) and 'value="12345"' in html
    s.licence.refresh_from_db()
    assert s.licence.vat_number == "" and snapshot() == before


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_suspending_without_a_reason_is_told_beside_that_forms_reason(client, s, lang):
    before = snapshot()
    response = post(client, s.registrar, f"/{lang}/licence/{s.licence.number}/suspend/", {"reason": ""})
    html = response.content.decode()
    assert response.status_code == 400
    expected = (
        "Give the reason; the holder will see it." if lang == "en" else "اذكر السبب، وسيطّلع عليه صاحب القيد."
    )
    assert expected in beside(html, "suspend_reason")  # not the cancel form's reason
    assert 'href="#suspend_reason"' in summary(html)
    assert 'id="cancel_reason-error"' not in html
    s.licence.refresh_from_db()
    assert s.licence.status == "active" and snapshot() == before


def test_renewing_a_cancelled_licence_is_a_sentence_at_the_top_of_the_form(client, s):
    licensing.licence_change_status(actor=s.registrar, licence=s.licence, action="cancel", reason="Closed")
    before = snapshot()
    response = post(client, s.holder, f"/en/licence/{s.licence.number}/renew/", {})
    html = response.content.decode()
    assert response.status_code in (400, 409)
    assert 'id="renew-form"' in html and summary(html).count("<li>") == 1
    assert snapshot() == before


# --- A review at an approving body: decision, inspection ------------------------------------------


@pytest.mark.parametrize(
    ("lang", "data", "field", "expected"),
    [
        ("en", {"decision": "reject"}, "id_reason", "A rejection needs a reason; the applicant will see it."),
        ("ar", {"decision": "reject"}, "id_reason", "يجب ذكر سبب الرفض، وسيطّلع عليه مقدم الطلب."),
        ("en", {"decision": "request_info"}, "id_reason", "Write what the applicant must provide."),
        ("ar", {"decision": "request_info"}, "id_reason", "اكتب ما يجب على مقدم الطلب تقديمه."),
        (
            "en",
            {"decision": "approve_with_conditions", "reason": "Fine"},
            "id_conditions",
            "Write the conditions",
        ),
    ],
)
def test_a_reviewers_decision_names_what_is_missing_beside_it(client, s, lang, data, field, expected):
    before = snapshot()
    response = post(
        client, s.reviewer, f"/{lang}/reviews/{s.review.pk}/decide/", {"reason": "", "conditions": "", **data}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert expected in beside(html, field)
    assert f'href="#{field}"' in summary(html)
    assert re.search(rf'value="{data["decision"]}"[^>]*checked', html)  # the decision chosen is kept
    s.review.refresh_from_db()
    assert s.review.status == "pending" and snapshot() == before
    assert not InfoRequest.objects.exists()


def test_a_decision_on_a_review_no_longer_pending_is_a_conflict_on_top(client, s):
    # Another reviewer of the body asked for information meanwhile.
    from khutwa.approvals import services as reviews

    reviews.review_decide(actor=s.reviewer, review=s.review, decision="request_info", reason="Photos?")
    before = snapshot()
    response = post(
        client,
        s.reviewer,
        f"/en/reviews/{s.review.pk}/decide/",
        {"decision": "request_info", "reason": "Again"},
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert "it cannot take a decision now" in summary(html)
    assert 'id="decision-form"' in html
    assert snapshot() == before


def test_an_inspection_in_the_past_is_told_beside_its_date(client, s):
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    before = snapshot()
    response = post(
        client,
        s.reviewer,
        f"/en/reviews/{s.review.pk}/inspection/",
        {"scheduled_for": yesterday, "inspector": str(s.reviewer.pk)},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose a date from today on." in beside(html, "id_scheduled_for")
    assert f'value="{yesterday}"' in html
    assert not s.review.inspections.exists() and snapshot() == before


def test_an_outcome_without_passed_or_failed_is_told_beside_that_inspections_outcome(client, s):
    from khutwa.approvals import services as reviews

    inspection = reviews.inspection_schedule(
        actor=s.reviewer, review=s.review, scheduled_for=timezone.localdate(), inspector=s.reviewer
    )
    before = snapshot()
    response = post(
        client,
        s.reviewer,
        f"/en/reviews/{s.review.pk}/outcome/",
        {"inspection": str(inspection.pk), "outcome": "", "notes": "Visited"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert beside(html, f"id_outcome{inspection.pk}_outcome").strip()
    assert "Visited</textarea>" in html
    inspection.refresh_from_db()
    assert inspection.outcome == "scheduled" and snapshot() == before


# --- An application: the registrar's and the applicant's forms ----------------------------------


def test_returning_without_the_missing_items_is_told_beside_them(client, s):
    screening = s.world.screening(user=s.newcomer)
    before = snapshot()
    response = post(client, s.registrar, f"/en/applications/{screening.pk}/return/", {"items": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "List the items that are missing." in beside(html, "id_items")
    screening.refresh_from_db()
    assert screening.status == "screening" and snapshot() == before


def test_adding_an_unknown_body_is_told_beside_the_body(client, s):
    before = snapshot()
    response = post(
        client,
        s.registrar,
        f"/en/applications/{s.in_review.pk}/add_body/",
        {"body": "nowhere", "reason": "Check"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "nowhere" in beside(html, "body_body")
    assert "Check</textarea>" in html and snapshot() == before


def test_a_button_refused_shows_its_reason_at_the_top_of_the_actions(client, s):
    before = snapshot()
    response = post(client, s.reviewed, f"/en/applications/{s.in_review.pk}/submit/", {})
    html = response.content.decode()
    assert response.status_code == 409
    assert html.index('id="actions"') < html.index('id="error-summary"')
    assert summary(html).count("<li>") == 1
    s.in_review.refresh_from_db()
    assert s.in_review.status == "in_review" and snapshot() == before


def test_an_empty_answer_to_a_body_is_told_beside_that_requests_answer(client, s):
    from khutwa.approvals import services as reviews

    reviews.review_decide(actor=s.reviewer, review=s.review, decision="request_info", reason="Photos?")
    info = InfoRequest.objects.get()
    before = snapshot()
    response = post(
        client, s.reviewed, f"/en/applications/{s.in_review.pk}/answers/{info.pk}/", {"answer": ""}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Write your answer." in beside(html, f"id_answer{info.pk}_answer")
    assert snapshot() == before


def test_an_attachment_without_a_file_is_told_beside_the_file(client, s):
    draft = s.world.draft(user=s.newcomer)
    before = snapshot()
    response = post(client, s.newcomer, f"/en/applications/{draft.pk}/attachments/", {"kind": "ownership"})
    html = response.content.decode()
    assert response.status_code == 400
    assert beside(html, "id_file").strip()
    assert 'href="#id_file"' in summary(html) and snapshot() == before


# --- Who may, and htmx --------------------------------------------------------------------------


def test_another_persons_object_is_still_a_404_and_changes_nothing(client, s, support_application):
    before = snapshot()
    assert (
        post(
            client,
            s.other,
            f"/en/support/applications/{support_application.pk}/decide/",
            {"decision": "reject"},
        ).status_code
        == 404
    )
    assert (
        post(client, s.other, f"/en/reviews/{s.review.pk}/decide/", {"decision": "reject"}).status_code == 404
    )
    assert (
        post(client, s.other, f"/en/licence/{s.licence.number}/vat/", {"vat_number": "1"}).status_code == 404
    )
    assert snapshot() == before


def test_an_htmx_submission_gets_the_form_alone_with_its_errors_and_on_success_a_redirect(client, s):
    response = post(client, s.claimant, "/en/support/iban/", {"iban": "BH00"}, HX_Request="true")
    html = response.content.decode()
    assert response.status_code == 400
    assert html.lstrip().startswith('<form method="post" action="/en/support/iban/"') and "<html" not in html
    assert beside(html, "id_iban") and summary(html)
    response = post(
        client, s.claimant, "/en/support/iban/", {"iban": "BH67BMAG00001299123456"}, HX_Request="true"
    )
    assert response.status_code == 204 and response["HX-Redirect"] == "/en/support/"


# --- Other detail pages: a quotation's answer, the payout pages, the officer's business checks ----


def test_answering_a_quotation_already_answered_is_a_sentence_on_top_of_its_actions(client, s):
    from khutwa.documents import services as docs

    docs.quotation_respond(actor=s.claimant, quotation=s.quotation, accept=True)
    before = snapshot()
    response = post(client, s.claimant, f"/en/documents/{s.quotation.public_id}/decline/", {})
    html = response.content.decode()
    assert response.status_code == 409
    assert "This quotation was already answered." in summary(html)
    assert html.index('id="quotation-actions"') < html.index('id="error-summary"')
    s.quotation.response.refresh_from_db()
    assert s.quotation.response.answer == "accepted" and snapshot() == before


def test_a_batch_without_claims_says_so_on_top_of_the_batch_form(client, s):
    before = snapshot()
    response = post(client, s.finance, "/en/support/finance/", {})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose the verified claims to pay." in summary(html)
    assert html.index('id="batch-form"') < html.index('id="error-summary"')
    assert snapshot() == before


def test_refusing_a_business_without_a_reason_is_told_beside_that_rows_reason(client, s):
    enterprise = support.enterprise_register(actor=s.claimant, cr_number="145678-1", name_en="Shop")
    before = snapshot()
    response = post(client, s.officer, f"/en/support/enterprises/{enterprise.pk}/refuse/", {"reason": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Give the reason; the applicant will see it." in beside(html, f"ent{enterprise.pk}_reason")
    assert f'href="#ent{enterprise.pk}_reason"' in summary(html)
    enterprise.refresh_from_db()
    assert enterprise.rejected_reason == "" and enterprise.verified_at is None and snapshot() == before
    # Decided meanwhile: the business leaves the list, its refusal stays on the page.
    support.enterprise_decide(actor=s.officer, enterprise=enterprise, decision="verify")
    response = post(client, s.officer, f"/en/support/enterprises/{enterprise.pk}/refuse/", {"reason": "Fake"})
    assert response.status_code == 409
    assert "This link was already decided." in summary(response.content.decode())


def test_marking_a_paid_batch_paid_again_is_a_sentence_on_top_of_the_page(client, db):
    from tests.e2e.test_accessibility import Data

    d = Data()  # a verified claim in an open payout batch
    path = f"/en/support/batches/{d.batch.pk}/"
    assert post(client, d.finance, path, {}).status_code == 302
    before = snapshot()
    response = post(client, d.finance, path, {})
    assert response.status_code == 409
    assert "This batch is already paid." in summary(response.content.decode())
    assert snapshot() == before


def test_a_batch_of_claims_not_on_the_page_is_bad_input_not_a_conflict(client, s):
    before = snapshot()
    response = post(client, s.finance, "/en/support/finance/", {"claims": ["x"]})
    assert response.status_code == 400
    assert "claims listed on this page" in summary(response.content.decode())
    assert snapshot() == before
