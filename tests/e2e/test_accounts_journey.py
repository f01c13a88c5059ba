"""In a browser: a newcomer signs up on a phone (390 px, Arabic) and confirms the mobile; a
citizen logs in with the national identity through a real OpenID provider (npm's
oidc-provider on 127.0.0.1) in Arabic and in English, lands on their page, and logs out of both."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator

import pytest
from django.utils import translation
from playwright.sync_api import Browser, expect

from khutwa import sms
from khutwa.accounts.models import User
from tests.accounts.oidc_provider import SECRET, OpenIdProvider, openid_provider

pytestmark = [pytest.mark.django_db(transaction=True)]


def translated(lang: str, message: str) -> str:
    with translation.override(lang):
        return translation.gettext(message)


def no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def test_sign_up_on_a_phone_in_arabic_then_confirm_the_mobile(page, live_server, run_tasks):
    page.goto(f"{live_server.url}/ar/")
    page.locator("#apply-signup").click()
    expect(page).to_have_url(f"{live_server.url}/ar/signup/")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    no_sideways_scroll(page)

    # A mistake first: the summary at the top takes the focus and names the field, in Arabic.
    page.locator("#id_cpr").fill("12345")
    page.locator("#id_name_ar").fill("مريم علي")
    page.locator("#id_first_name").fill("Maryam")
    page.locator("#id_last_name").fill("Ali")
    page.locator("#id_phone").fill("3600 1234")
    page.locator("#id_email").fill("maryam@example.bh")
    page.locator("#id_password1").fill("a-long-and-unusual-passphrase")
    page.locator("#id_password2").fill("a-long-and-unusual-passphrase")
    page.locator("#signup-form button[type=submit]").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("يجب أن يتكون الرقم الشخصي من 9 أرقام بالضبط")
    expect(page.locator("#id_cpr")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_cpr-error")).to_be_visible()
    no_sideways_scroll(page)
    assert not User.objects.exists()

    # Corrected (typed with Arabic digits, as a phone keyboard may): the account is made.
    page.locator("#id_cpr").fill("٨٥٠١٠١٢٣٩")
    page.locator("#id_password1").fill("a-long-and-unusual-passphrase")
    page.locator("#id_password2").fill("a-long-and-unusual-passphrase")
    page.locator("#signup-form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/ar/account/confirm/")
    expect(page.locator("#contact-unconfirmed")).to_be_visible()
    no_sideways_scroll(page)

    run_tasks()
    code = re.search(r"\b([0-9]{6})\b", sms.outbox[-1].text).group(1)
    page.locator("#id_code").fill(code)
    page.locator("#code-form button[type=submit]").click()
    # On to apply.
    expect(page).to_have_url(f"{live_server.url}/ar/applications/new/")
    user = User.objects.get(cpr="850101239")
    assert user.phone_confirmed_at is not None


@pytest.fixture(scope="session")
def browser_provider(live_server) -> Iterator[OpenIdProvider]:  # type: ignore[no-untyped-def]
    with openid_provider([live_server.url]) as provider:
        yield provider


@pytest.fixture
def national_identity(settings, browser_provider):  # type: ignore[no-untyped-def]
    settings.KHUTWA_OIDC_ISSUER = browser_provider.issuer
    settings.KHUTWA_OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = "khutwa"
    settings.KHUTWA_OIDC_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = SECRET
    settings.OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"login_hint": "citizen"}
    # As settings.py does when KHUTWA_OIDC_ISSUER is set at start: the logout form may lead there.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], browser_provider.issuer]
    settings.CONTENT_SECURITY_POLICY = policy
    return browser_provider


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_log_in_with_the_national_identity_and_out_again(
    browser: Browser, live_server, national_identity, lang
):
    context = browser.new_context(
        locale="ar-BH" if lang == "ar" else "en-GB", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/{lang}/login/?next=/{lang}/my/")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        button = page.locator("#national-identity-login")
        expect(button).to_have_text(translated(lang, "Log in with the national identity"))
        button.click()
        # Through the provider (code flow with PKCE) and back: the user's own page.
        expect(page).to_have_url(f"{live_server.url}/{lang}/my/")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("#current-user")).to_have_text(re.compile("Maryam Ali|مريم علي"))
        user = User.objects.get(cpr="850101239")
        assert user.name_ar == "مريم علي"

        # Logging out ends the portal's session, then the provider's, and comes home.
        page.locator("form[action$='/logout/'] button[type=submit]").click()
        page.locator("#op-logout-yes").click()
        expect(page).to_have_url(f"{live_server.url}/{lang}/")
        expect(page.locator("#current-user")).to_have_count(0)
    finally:
        context.close()
