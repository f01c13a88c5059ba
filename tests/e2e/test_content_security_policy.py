"""The Content-Security-Policy (no inline script or style, no eval) does not break the pages:
a real browser loads the key pages, adds document lines through HTMX, switches the document
type, opens the verification page, the support reports and the admin, and reports no
violation. The last test proves that a violation would be seen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, expect

from khutwa.accounts.models import User
from khutwa.accounts.roles import Role
from khutwa.documents import services
from khutwa.documents.signing import cache_clear
from tests.conftest import PASSWORD, staff_second_factor, totp_code
from tests.licensing.factories import World, staff

pytestmark = [pytest.mark.django_db(transaction=True)]

# Recorded in the page itself: the event fires for every blocked script, style or eval.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


@dataclass
class Watched:
    page: Page
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def collect(self) -> None:
        """Moves the violations the current document recorded into `violations`."""
        self.violations += self.page.evaluate("window.__violations || []")
        self.page.evaluate("window.__violations = []")

    def assert_clean(self, where: str) -> None:
        self.collect()
        csp_console = [m for m in self.console if "Content Security Policy" in m]
        assert self.violations == [], where
        assert csp_console == [], where
        assert self.errors == [], where

    def goto(self, url: str) -> None:
        if self.page.url.startswith("http"):
            self.collect()
        response = self.page.goto(url)
        assert response is not None and response.ok, url
        policy = response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
        assert "script-src 'self'" in policy and "style-src 'self'" in policy


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(locale="ar-BH", viewport={"width": 1280, "height": 900})
    context.add_init_script(LISTEN)
    page = context.new_page()
    seen = Watched(page)
    page.on("console", lambda m: seen.console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    yield seen
    context.close()


@pytest.fixture
def keys(settings, tmp_path, monkeypatch, live_server) -> Iterator[None]:
    settings.KHUTWA_KEY_DIR = tmp_path / "keys"
    settings.KHUTWA_SITE_URL = live_server.url
    monkeypatch.setenv("KHUTWA_KEY_PASSPHRASE", "e2e")
    cache_clear()
    yield
    cache_clear()


def log_in(watched: Watched, base: str, username: str) -> None:
    watched.goto(f"{base}/en/login/")
    watched.page.fill("#id_username", username)
    watched.page.fill("#id_password", PASSWORD)
    watched.page.click("#login-form button[type=submit]")
    watched.page.wait_for_url(lambda url: "/login/" not in url)


def test_public_pages_and_a_holders_document_form_work_under_the_policy(watched, live_server, keys):
    world = World()
    world.licensed(activities=["home-meals"])
    holder = world.applicant
    holder.set_password(PASSWORD)
    holder.save()
    customer = services.customer_create(
        actor=holder, kind="individual", cpr="870303003", name_ar="يوسف", name_en="Yousif"
    )
    issued = services.document_issue(
        actor=holder,
        data=services.DocumentInput(
            type="invoice",
            customer=customer.pk,
            lines=[
                services.LineInput(
                    activity="home-meals",
                    description="Machboos tray",
                    quantity="2",
                    unit="piece",
                    unit_price="7.250",
                )
            ],
        ),
    ).document
    base = live_server.url
    page = watched.page

    watched.goto(f"{base}/ar/")
    expect(page.locator("h1")).to_have_text("ابدأ مشروعك بخطوة")
    page.get_by_role("button", name="English").click()  # the language switch: a form
    page.wait_for_url(f"{base}/en/")
    watched.assert_clean("home")

    log_in(watched, base, holder.username)
    watched.assert_clean("login")

    watched.goto(f"{base}/en/documents/new/?type=invoice")
    page.select_option("#id_customer", label="Yousif")
    page.fill("#l0d", "Machboos tray")
    page.fill("#l0q", "2")
    page.fill("#l0p", "7.250")
    expect(page.locator("#live-total")).to_have_text("14.500")  # HTMX totals
    # "Add a line" (HTMX, no hx-vals js: or hx-on): rows 1 and 2 appear, the count follows.
    page.click("#add-line")
    expect(page.locator("#l1d")).to_be_visible()
    expect(page.locator("#line_count")).to_have_value("2")
    page.click("#add-line")
    expect(page.locator("#l2d")).to_be_visible()
    expect(page.locator("#line_count")).to_have_value("3")
    page.fill("#l1d", "Harees pot")
    page.fill("#l1q", "1")
    page.fill("#l1p", "3.000")
    expect(page.locator("#live-total")).to_have_text("17.500")
    watched.assert_clean("document form")
    # The type switch submits itself (a static script, no onchange attribute), keeping the lines.
    page.select_option("#type-switch", "quotation")
    expect(page.locator("#id_valid_until")).to_be_visible()
    expect(page.locator("#l0d")).to_have_value("Machboos tray")
    watched.assert_clean("document type switch")

    watched.goto(f"{base}/ar/verify/{issued.public_id}")
    expect(page.locator("#verdict")).to_have_attribute("data-valid", "true")
    watched.assert_clean("verify page")


def test_support_reports_draw_their_bars_under_the_policy(watched, live_server, make_user):
    make_user(Role.TAMKEEN_OFFICER, username="officer")
    log_in(watched, live_server.url, "officer")
    watched.goto(f"{live_server.url}/ar/support/reports/")
    expect(page_heading := watched.page.locator("h1")).to_be_visible()
    assert page_heading.text_content()
    watched.assert_clean("support reports")


def test_the_admin_works_under_the_policy(watched, live_server):
    root = User.objects.create_superuser(username="root", password=PASSWORD, email="root@khutwa.bh")
    staff_second_factor(root, otp=True)  # staff prove a TOTP code at the admin's login
    base = live_server.url
    page = watched.page

    watched.goto(f"{base}/en/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_token", totp_code(root))
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/en/admin/")
    watched.assert_clean("admin login")

    watched.goto(f"{base}/en/admin/accounts/user/")
    expect(page.locator("#result_list")).to_be_visible()
    page.fill("#searchbar", "root")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=root**")
    watched.assert_clean("admin change list")

    watched.goto(f"{base}/ar/admin/accounts/user/add/")
    expect(page.locator("#id_username")).to_be_visible()
    watched.assert_clean("admin add form (Arabic)")

    # A change form with its widgets (date and time shortcuts, the password link, many-to-many).
    watched.goto(f"{base}/en/admin/accounts/user/{root.pk}/change/")
    page.click("#id_date_joined_0 ~ .datetimeshortcuts a:has-text('Today')")
    expect(page.locator("#id_groups_from")).to_be_attached()
    watched.assert_clean("admin change form")


def test_a_violation_would_be_seen(watched, live_server):
    """The watch is not blind: an inline script injected into a served page is blocked, and
    both the event and the console report it."""
    watched.goto(f"{live_server.url}/en/")
    watched.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.append(s); document.body.setAttribute('style', 'color: red'); }"
    )
    expect(watched.page.locator("body")).to_have_attribute("style", "color: red")
    watched.page.wait_for_timeout(200)
    assert watched.page.evaluate("window.ran") is None  # the inline script did not run
    watched.collect()
    assert any(v.startswith("script-src-elem blocked inline") for v in watched.violations), watched.violations
    assert any(v.startswith("style-src-attr blocked inline") for v in watched.violations), watched.violations
    assert any("Content Security Policy" in m for m in watched.console)


def test_the_second_factor_pages_work_under_the_policy(watched, live_server):
    """A registrar without an authenticator app is shown the set-up page (its QR code an inline
    SVG), in both languages."""
    registrar = staff(Role.REGISTRAR)
    registrar.set_password(PASSWORD)
    registrar.otp_exempt = False  # staff() waives it like the demo does
    registrar.save()
    base = live_server.url
    page = watched.page
    for language in ("ar", "en"):
        watched.goto(f"{base}/{language}/login/")
        page.fill("#id_username", registrar.username)
        page.fill("#id_password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/login/authenticator/**")
        expect(page.locator("#otp-qr svg")).to_be_visible()
        watched.assert_clean(f"authenticator set-up ({language})")
        page.context.clear_cookies()
