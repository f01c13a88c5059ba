"""A holder issues an invoice on a phone, in Arabic; the customer opens the verification page."""

import pytest
from playwright.sync_api import expect

from khutwa.documents import services
from khutwa.documents.signing import cache_clear
from tests.conftest import PASSWORD
from tests.licensing.factories import World

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_holder_issues_an_invoice_and_anyone_verifies_it(
    browser, live_server, settings, tmp_path, monkeypatch
):
    settings.KHUTWA_KEY_DIR = tmp_path / "keys"
    settings.KHUTWA_SITE_URL = live_server.url
    monkeypatch.setenv("KHUTWA_KEY_PASSPHRASE", "e2e")
    cache_clear()
    world = World()
    world.licensed(activities=["home-meals"])
    holder = world.applicant
    holder.set_password(PASSWORD)
    holder.save()
    services.customer_create(
        actor=holder, kind="individual", cpr="870303003", name_ar="يوسف", name_en="Yousif"
    )

    context = browser.new_context(
        locale="ar-BH", viewport={"width": 390, "height": 844}, accept_downloads=True
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/ar/login/")
    page.fill("#id_username", holder.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.goto(f"{live_server.url}/ar/documents/new/?type=invoice")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.select_option("#id_customer", label="يوسف")  # customers by their name in the page's language
    page.fill("#l0d", "صينية مجبوس")
    page.fill("#l0q", "2")
    page.fill("#l0p", "7.250")
    expect(page.locator("#live-total")).to_have_text("14.500")  # HTMX totals, live
    page.click("#document-form button[type=submit]")
    expect(page.locator("#total")).to_have_text("14.500")
    with page.expect_download() as download:
        page.click("#pdf-link")
    target = tmp_path / "invoice.pdf"
    download.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")

    public = browser.new_context(locale="ar-BH").new_page()
    verify_url = page.locator("a", has_text="صفحة التحقق").get_attribute("href")
    public.goto(verify_url)
    expect(public.locator("#verdict")).to_have_attribute("data-valid", "true")
    expect(public.locator("#facts")).not_to_contain_text("870303003")
    context.close()
    cache_clear()
