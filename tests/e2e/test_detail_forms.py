"""A form on a detail page, in a phone-sized browser: a reviewer rejects without a reason; the
review's page comes back with the error summary at the top of the decision form, focused, its
link leading to the reason, the error beside the reason, the choice kept, nothing sideways."""

import pytest
from playwright.sync_api import expect

from khutwa.approvals.models import Review
from tests.conftest import PASSWORD
from tests.licensing.factories import World

pytestmark = [pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_a_reviewers_decision_without_a_reason_shows_the_summary_and_the_error_beside_it(
    browser, live_server
):
    world = World()
    application = world.in_review(activities=["sewing-abayas"])
    review = Review.objects.get(application=application, body__code="municipality")
    reviewer = world.reviewers["municipality"]
    reviewer.set_password(PASSWORD)
    reviewer.save()
    page = browser.new_context(locale="ar-BH", viewport=PHONE).new_page()
    page.goto(f"{live_server.url}/ar/login/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/ar/")

    page.goto(f"{live_server.url}/ar/reviews/{review.pk}/")
    page.check("#decision-form input[value=reject]")
    with page.expect_navigation() as sent:
        page.locator("#decision-form button[type=submit]").click()
    assert sent.value is not None and sent.value.status == 400

    summary = page.locator("#decision-form #error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("توجد مشكلة")
    expect(summary.locator("a[href='#id_reason']")).to_have_text("يجب ذكر سبب الرفض، وسيطّلع عليه مقدم الطلب.")
    expect(page.locator("#id_reason-error")).to_be_visible()
    expect(page.locator("#id_reason-error")).to_contain_text("يجب ذكر سبب الرفض")
    expect(page.locator("#id_reason")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#decision-form input[value=reject]")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The summary's link takes the focus to the reason; written, the decision goes through.
    summary.locator("a[href='#id_reason']").click()
    expect(page.locator("#id_reason")).to_be_focused()
    page.keyboard.type("الورشة في المطبخ المشترك")
    with page.expect_navigation():
        page.locator("#decision-form button[type=submit]").click()
    expect(page.locator("#review-status")).to_have_text("مرفوض")
    review.refresh_from_db()
    assert review.status == "rejected"
