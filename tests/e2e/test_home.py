import pytest
from playwright.sync_api import expect

from khutwa.accounts.roles import Role
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_home_in_arabic_then_english_then_log_in(page, live_server, make_user):
    make_user(Role.REGISTRAR, username="maryam", first_name="Maryam", name_ar="مريم")

    page.goto(f"{live_server.url}/ar/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("h1")).to_have_text("ابدأ مشروعك بخطوة")

    page.get_by_role("button", name="English").click()
    page.wait_for_url(f"{live_server.url}/en/")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("h1")).to_have_text("Start your project with Khutwa")

    page.get_by_role("button", name="Menu").click()  # a phone-sized screen folds the menu
    page.get_by_role("link", name="Activities", exact=True).click()
    page.wait_for_url(f"{live_server.url}/en/activities/")
    page.get_by_role("button", name="العربية").click()
    page.wait_for_url(f"{live_server.url}/ar/activities/")  # same page, other language
    expect(page.locator("#activities")).to_contain_text("الخياطة والعبايات")

    page.get_by_role("link", name="تسجيل الدخول", exact=True).click()
    page.get_by_label("اسم المستخدم").fill("maryam")
    page.get_by_label("كلمة المرور").fill(PASSWORD)
    page.get_by_role("button", name="تسجيل الدخول").click()
    expect(page.locator("[data-role-panel=registrar]")).to_be_visible()
    expect(page.locator("h1")).to_have_text("مرحبًا، مريم")  # the name in the page's language
