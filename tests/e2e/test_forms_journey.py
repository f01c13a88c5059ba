"""Forms that work, in a browser: the error summary takes the focus after a failed submit and
its links lead to the fields; the tier limits the activities as it is picked; changing the
document type keeps what was typed; and two keyboard journeys (Tab, Shift+Tab, Enter, Space and
the arrow keys only, no clicks) at desktop width: applying for a licence, issuing an invoice."""

import pytest
from playwright.sync_api import Browser, Page, expect

from khutwa.documents import services
from khutwa.documents.signing import cache_clear
from khutwa.licensing.models import Application
from tests.conftest import PASSWORD
from tests.licensing.factories import World, applicant

pytestmark = [pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def login(browser: Browser, base: str, username: str, lang: str = "en", viewport=None) -> Page:
    context = browser.new_context(locale="ar-BH" if lang == "ar" else "en-GB", viewport=viewport or DESKTOP)
    page = context.new_page()
    page.goto(f"{base}/{lang}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("#login-form button[type=submit]").press("Enter")
    page.wait_for_url(f"{base}/{lang}/")
    return page


def focused_matches(page: Page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page: Page, selector: str, *, within: int = 1, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until the selector has the focus: within ``within`` presses,
    so that a journey also checks the focus order (the next control is the next stop)."""
    for _ in range(within):
        page.keyboard.press(key)
        if focused_matches(page, selector):
            return
    where = page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 120)")
    raise AssertionError(f"{selector} is not reached within {within} {key}: the focus is on {where}")


def choose_with_arrows(page: Page, selector: str, value: str) -> None:
    """A focused <select>: ArrowDown until the wanted option is chosen."""
    for _ in range(30):
        if page.eval_on_selector(selector, "e => e.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} is not an option of {selector}")


def people(*users) -> None:
    for user in users:
        user.set_password(PASSWORD)
        user.save()


@pytest.fixture
def holder_with_customer(settings, tmp_path, monkeypatch, live_server):
    settings.KHUTWA_KEY_DIR = tmp_path / "keys"
    settings.KHUTWA_SITE_URL = live_server.url
    monkeypatch.setenv("KHUTWA_KEY_PASSPHRASE", "e2e")
    cache_clear()
    world = World()
    world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard")
    people(world.applicant)
    services.customer_create(
        actor=world.applicant, kind="individual", cpr="870303003", name_ar="يوسف", name_en="Yousif"
    )
    yield world.applicant
    cache_clear()


def test_the_error_summary_takes_the_focus_and_its_links_lead_to_the_fields(browser, live_server):
    person = applicant(username="maryam")
    people(person)
    page = login(browser, live_server.url, "maryam", lang="ar")
    page.goto(f"{live_server.url}/ar/applications/new/")
    page.fill("#id_phone", "12")
    page.locator("#application-form button[type=submit]").press("Enter")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.locator("a[href='#id_phone']")).to_be_visible()
    expect(page.locator("#id_phone")).to_have_attribute("aria-invalid", "true")
    # The first link is the next Tab stop; Enter takes the focus to its field.
    page.keyboard.press("Tab")
    first = page.evaluate("() => document.activeElement.getAttribute('href')")
    assert first and first.startswith("#id_")
    page.keyboard.press("Enter")
    expect(page.locator(first)).to_be_focused()
    assert not Application.objects.exists()


def test_the_tier_limits_the_activities_as_it_is_picked(browser, live_server):
    person = applicant(username="huda")
    people(person)
    page = login(browser, live_server.url, "huda")
    page.goto(f"{live_server.url}/en/applications/new/")
    boxes = page.locator("input[name=activities]")
    page.check("input[name=tier][value=basic]")  # one activity
    boxes.nth(0).check()
    expect(boxes.nth(1)).to_be_disabled()
    expect(page.locator("[data-activity-count]")).to_have_text(
        "Activities chosen: 1 of 1 allowed by the tier."
    )
    page.check("input[name=tier][value=standard]")  # three
    expect(boxes.nth(1)).to_be_enabled()
    boxes.nth(1).check()
    boxes.nth(2).check()
    expect(boxes.nth(3)).to_be_disabled()
    boxes.nth(2).uncheck()
    expect(boxes.nth(3)).to_be_enabled()


def test_changing_the_document_type_keeps_what_was_typed(browser, live_server, holder_with_customer):
    page = login(browser, live_server.url, holder_with_customer.username)
    page.goto(f"{live_server.url}/en/documents/new/?type=invoice")
    page.select_option("#id_customer", label="Yousif")
    page.fill("#id_tamkeen", "TMK-2026-000007")
    page.select_option("#l0a", "sewing-abayas")
    page.fill("#l0d", "Abaya, black")
    page.fill("#l0q", "2")
    page.fill("#l0p", "35.000")
    page.select_option("#type-switch", "receipt")  # no lines on a receipt
    expect(page.locator("#type-switch")).to_have_value("receipt")
    expect(page.locator("#l0d")).to_have_count(0)
    page.select_option("#type-switch", "quotation")
    expect(page.locator("#type-switch")).to_have_value("quotation")
    expect(page.locator("#l0d")).to_have_value("Abaya, black")
    expect(page.locator("#l0p")).to_have_value("35.000")
    expect(page.locator("#l0q")).to_have_value("2")
    expect(page.locator("#l0a")).to_have_value("sewing-abayas")
    expect(page.locator("#id_tamkeen")).to_have_value("TMK-2026-000007")
    expect(page.locator("#id_customer option:checked")).to_have_text("Yousif")
    expect(page.locator("#error-summary")).to_have_count(0)


def test_keyboard_only_applying_for_a_licence(browser, live_server, tmp_path, settings):
    settings.KHUTWA_PRIVATE_DIR = tmp_path
    person = applicant(username="noora")
    people(person)
    page = login(browser, live_server.url, "noora")
    page.goto(f"{live_server.url}/en/applications/new/")
    # The CPR comes from the account and cannot be changed: the first stop is the Arabic name.
    tab_to(page, "#id_name_ar", within=80)
    page.keyboard.type("نورة علي")
    tab_to(page, "#id_name_en")
    tab_to(page, "#id_name_ar", key="Shift+Tab")  # and back
    tab_to(page, "#id_name_en")
    page.keyboard.press("Control+A")
    page.keyboard.type("Noora Ali")
    tab_to(page, "#id_phone")
    page.keyboard.press("Control+A")
    page.keyboard.type("33445566")
    tab_to(page, "#id_email")
    tab_to(page, "#id_flat")
    tab_to(page, "#id_building")
    page.keyboard.type("1203")
    tab_to(page, "#id_road")
    page.keyboard.type("4512")
    tab_to(page, "#id_block")
    page.keyboard.type("945")
    tab_to(page, "#id_area")
    page.keyboard.type("Riffa")
    tab_to(page, "#id_governorate")
    choose_with_arrows(page, "#id_governorate", "southern")
    tab_to(page, "#id_trade_name")
    page.keyboard.type("Noora Sews")
    tab_to(page, "input[name=tier]")  # the group is one stop; Space picks, the arrows move
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    expect(page.locator("input[name=tier][value=standard]")).to_be_checked()
    tab_to(page, "input[name=activities]")
    page.keyboard.press("Space")
    expect(page.locator("input[name=activities]").first).to_be_checked()
    tab_to(page, "#application-form button[type=submit]", within=40)
    page.keyboard.press("Enter")
    expect(page.locator("#application-status")).to_have_attribute("data-status", "draft")
    application = Application.objects.get()
    assert application.name_en == "Noora Ali" and application.tier.code == "standard"
    # A document (the file itself comes from the file chooser), then submit, by keyboard.
    page.set_input_files(
        "#id_file",
        files=[{"name": "deed.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}],
    )
    page.focus("#id_file")
    tab_to(page, "form[action$='/attachments/'] button[type=submit]", within=3)
    page.keyboard.press("Enter")
    expect(page.locator("#attachments")).to_contain_text("deed.pdf")
    tab_to(page, "form[action$='/submit/'] button[type=submit]", within=80)
    page.keyboard.press("Enter")
    expect(page.locator("#application-status")).to_have_attribute("data-status", "submitted")


def test_keyboard_only_issuing_an_invoice(browser, live_server, holder_with_customer):
    page = login(browser, live_server.url, holder_with_customer.username)
    page.goto(f"{live_server.url}/en/documents/new/?type=invoice")
    tab_to(page, "#type-switch", within=80)
    tab_to(page, "#id_customer")
    choose_with_arrows(page, "#id_customer", str(holder_with_customer.customers.get().pk))
    tab_to(page, "a[href*='/customers/new/']")
    tab_to(page, "#id_tamkeen")
    tab_to(page, "#id_due_date")
    tab_to(page, "#id_quotation", within=4)  # the date input has a stop per part
    tab_to(page, "#id_partial")
    tab_to(page, "#id_difference")
    tab_to(page, "#l0a")
    choose_with_arrows(page, "#l0a", "sewing-abayas")
    tab_to(page, "#l0d")
    page.keyboard.type("Abaya, black")
    tab_to(page, "#l0q")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, "#l0u")
    tab_to(page, "#l0p")
    page.keyboard.type("35.000")
    expect(page.locator("#live-total")).to_have_text("70.000")
    tab_to(page, "#document-form button[type=submit]", within=6)
    page.keyboard.press("Enter")
    expect(page.locator("#total")).to_have_text("70.000")
