"""An applicant chooses how they are told, on a phone-sized screen, in English then Arabic."""

import pytest
from playwright.sync_api import expect

from khutwa.accounts.roles import Role
from khutwa.notifications.models import Preference
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_choose_channels_and_language(page, live_server, make_user):
    user = make_user(Role.APPLICANT, username="huda", cpr="880808008", email="huda@example.bh")
    page.goto(f"{live_server.url}/en/login/")
    page.get_by_label("Username").fill("huda")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#notifications-link").click()
    page.wait_for_url(f"{live_server.url}/en/account/notifications/")
    expect(page.locator("h1")).to_have_text("Notifications")
    expect(page.locator("#id_email")).to_be_checked()
    expect(page.locator("#id_sms")).not_to_be_checked()

    # No mobile on the account: SMS is refused, named, and nothing is stored.
    page.locator("#id_sms").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#error-summary")).to_contain_text("mobile number")
    assert not Preference.objects.filter(user=user).exists()

    page.locator("#id_sms").uncheck()
    page.get_by_label("English").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert Preference.objects.get(user=user).language == "en"
    # A phone-sized screen does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.goto(f"{live_server.url}/ar/account/notifications/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#id_language_1")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
