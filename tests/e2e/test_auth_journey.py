"""In a browser, in Arabic and in English: repeated wrong passwords lock the login and say how
long to wait; a forgotten password is reset through the link sent by e-mail."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import translation
from playwright.sync_api import expect

from khutwa.accounts.lockout import lockout_message
from khutwa.accounts.roles import Role
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-new-long-passphrase-42"


def translated(lang: str, message: str) -> str:
    with translation.override(lang):
        return translation.gettext(message)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_wrong_passwords_lock_the_login_and_say_how_long_to_wait(
    page, live_server, make_user, settings, lang
):
    settings.KHUTWA_LOCKOUT_ACCOUNT_FAILURES = settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    make_user(Role.APPLICANT, cpr="900101041", username="zainab")
    with translation.override(lang):
        locked = lockout_message(dt.timedelta(minutes=15))

    page.goto(f"{live_server.url}/{lang}/login/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    for _ in range(2):
        page.locator("#id_username").fill("zainab")
        page.locator("#id_password").fill("not-my-password")
        page.locator("#login-form button[type=submit]").click()
        expect(page.locator("#login-error")).to_be_visible()
        expect(page.locator("#login-error")).not_to_contain_text(locked)
    page.locator("#id_username").fill("zainab")
    page.locator("#id_password").fill("not-my-password")
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#login-error")).to_have_text(locked)

    # Now even the right password is refused, with the same explanation.
    page.locator("#id_username").fill("zainab")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#login-error")).to_have_text(locked)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#login-form")).to_be_visible()


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_forgotten_password_is_reset_through_the_emailed_link(page, live_server, make_user, settings, lang):
    settings.KHUTWA_SITE_URL = live_server.url
    make_user(Role.HOLDER, cpr="900101042", username="aisha", email="aisha@example.com")

    page.goto(f"{live_server.url}/{lang}/login/")
    page.locator("#forgot-password").click()
    page.wait_for_url(f"{live_server.url}/{lang}/password/reset/")
    expect(page.locator("h1")).to_have_text(translated(lang, "Reset your password"))
    page.locator("#id_email").fill("aisha@example.com")
    page.locator("#reset-form button[type=submit]").click()
    expect(page.locator("#reset-sent h1")).to_have_text(translated(lang, "Check your e-mail"))

    assert len(mail.outbox) == 1
    links = re.findall(rf"{re.escape(live_server.url)}/{lang}/password/reset/\S+/\S+/", mail.outbox[0].body)
    assert links, mail.outbox[0].body
    page.goto(links[0])
    expect(page.locator("h1")).to_have_text(translated(lang, "Choose a new password"))
    page.locator("#id_new_password1").fill("password1234")
    page.locator("#id_new_password2").fill("password1234")
    page.locator("#set-password-form button[type=submit]").click()
    expect(page.locator("#set-password-form")).to_contain_text(
        translated(lang, "This password is too common.")
    )
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    page.locator("#set-password-form button[type=submit]").click()
    expect(page.locator("#reset-complete h1")).to_have_text(translated(lang, "Password saved"))

    page.locator("#reset-complete a").click()
    page.locator("#id_username").fill("aisha")
    page.locator("#id_password").fill(NEW_PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/{lang}/")
    expect(page.locator("#login-form")).to_have_count(0)

    # The link worked once.
    page.goto(links[0])
    expect(page.locator("#reset-invalid")).to_be_visible()
