"""The whole licensing journey in Arabic, through the portal, in a phone-sized browser:
apply → screening → three approvals (with the home inspections) → licence → certificate."""

import pytest
from playwright.sync_api import Browser, Page, expect

from khutwa.accounts.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.conftest import follow
from tests.licensing.factories import applicant, staff

pytestmark = [pytest.mark.django_db(transaction=True)]


def login(browser: Browser, base: str, username: str) -> Page:
    context = browser.new_context(locale="ar-BH", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base}/ar/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/ar/")
    return page


def click_action(page: Page, action: str) -> None:
    follow(page, f"form[action$='/{action}/'] button[type=submit]")


def test_apply_screen_review_issue_and_download_the_certificate_in_arabic(
    browser, live_server, tmp_path, settings
):
    settings.KHUTWA_PRIVATE_DIR = tmp_path
    base = live_server.url
    person = applicant(username="zainab")
    person.set_password(PASSWORD)
    person.save()
    registrar = staff(Role.REGISTRAR)
    reviewers = {
        code: staff(Role.REVIEWER, code) for code in ("municipality", "civil-defence", "food-control")
    }
    for user in [registrar, *reviewers.values()]:
        user.set_password(PASSWORD)
        user.save()

    # The applicant applies on a phone, in Arabic.
    page = login(browser, base, "zainab")
    page.goto(f"{base}/ar/applications/new/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.fill("#id_name_ar", "زينب عبدالله")
    page.fill("#id_name_en", "Zainab Abdulla")
    page.fill("#id_phone", "33445566")
    page.fill("#id_building", "1203")
    page.fill("#id_road", "4512")
    page.fill("#id_block", "945")
    page.fill("#id_area", "الرفاع")
    page.select_option("#id_governorate", "southern")
    page.fill("#id_trade_name", "حلويات زينب")
    page.check("input[name=tier][value=standard]")
    page.check("input[name=activities][value=sweets-pastries]")
    page.locator("#application-form button[type=submit]").click()
    expect(page.locator("#application-status")).to_have_attribute("data-status", "draft")
    page.select_option("#id_kind", "ownership")
    page.set_input_files(
        "#id_file",
        files=[{"name": "deed.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}],
    )
    page.locator("form[action$='/attachments/'] button[type=submit]").click()
    expect(page.locator("#attachments")).to_contain_text("deed.pdf")
    click_action(page, "submit")
    expect(page.locator("#application-status")).to_have_attribute("data-status", "submitted")
    application_url = page.url

    # The registrar screens it and sends it to the bodies.
    desk = login(browser, base, registrar.username)
    desk.goto(f"{base}/ar/registrar/screening/")
    follow(desk, "#screening a")
    click_action(desk, "start_screening")
    click_action(desk, "accept")
    expect(desk.locator("#application-status")).to_have_attribute("data-status", "in_review")
    expect(desk.locator("#reviews li")).to_have_count(3)

    # Each body reviews in parallel; civil defence and food control inspect the home first.
    for reviewer in reviewers.values():
        rp = login(browser, base, reviewer.username)
        rp.goto(f"{base}/ar/reviews/")
        follow(rp, "#queue a")
        if rp.locator("form[action$='/inspection/']").count():
            follow(rp, "form[action$='/inspection/'] button[type=submit]")
            rp.select_option("form[action$='/outcome/'] select[name=outcome]", "passed")
            follow(rp, "form[action$='/outcome/'] button[type=submit]")
        rp.check("#decision-form input[value=approve]")
        rp.locator("#decision-form button[type=submit]").click()
        expect(rp.locator("#review-status")).to_have_text("موافق عليه")
        rp.context.close()

    # All three approvals are in: the registrar issues the licence.
    desk.goto(application_url)
    expect(desk.locator("#application-status")).to_have_attribute("data-status", "approved")
    click_action(desk, "issue_licence")
    expect(desk.locator("#application-status")).to_have_attribute("data-status", "licence_issued")

    # The holder sees the licence and downloads the certificate.
    page.goto(f"{base}/ar/my/")
    page.locator("#my-licences a").first.click()
    expect(page.locator("#licence-status")).to_have_text("ساري")
    with page.expect_download() as download:
        page.click("#certificate-link")
    path = tmp_path / "certificate.pdf"
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
