"""Accessibility, checked: every page of every role, in Arabic and English, at phone width
(390 px) and desktop width (1280 px), run through axe-core (WCAG 2.2 A and AA rules): no critical
or serious violation, and no page wider than a 390 px phone. The main forms are checked again with
their errors shown.

The list of pages comes from the portal's URLconf: every named portal URL is either visited here
(PAGES) or named in NOT_PAGES with the reason it is not a page (a POST-only action, a file, an
htmx fragment), so that a new page cannot be missed (test_every_portal_url_is_checked_or_excused).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Browser, BrowserContext, Page, expect

from khutwa.documents import services as docs
from khutwa.support import services as support
from tests.api.test_no_server_errors import Scene
from tests.documents.conftest import line

pytestmark = [pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# Portal URL names that are not pages one looks at, and why.
NOT_PAGES = {
    "logout": "POST only",
    "otp_verify": "a step inside staff log-in (tests/e2e/test_auth_journey.py walks it)",
    "otp_setup": "a step inside staff log-in (tests/e2e/test_auth_journey.py walks it)",
    "attachment_upload": "POST only",
    "answer": "POST only",
    "application_action": "POST only",
    "attachment": "a file download",
    "certificate": "a PDF",
    "licence_action": "POST only",
    "document_line": "an htmx fragment of the document form",
    "document_totals": "an htmx fragment of the document form",
    "document_pdf": "a PDF",
    "document_xml": "an XML file",
    "document_action": "POST only",
    "support_iban": "POST only",
    "support_enterprise": "POST only",
    "support_enterprise_decide": "POST only",
    "support_application_action": "POST only",
    "support_claim_decide": "POST only",
    "support_batch_export": "a bank file (XML or CSV)",
    "review_action": "POST only",
}

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ` +
      v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | "));
}"""


class Data(Scene):
    """The API fuzzing scene (every role with something of theirs) plus a support application
    with a verified claim in a payout batch, and an applicant's own draft."""

    def __init__(self) -> None:
        super().__init__()
        quotation = self.quotation
        self.support_application = support.application_create(
            actor=self.claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
        )
        support.application_decide(
            actor=self.officer, application=self.support_application, decision="approve"
        )
        invoice = docs.document_issue(
            actor=self.holder,
            data=docs.DocumentInput(
                type="invoice",
                customer=self.customer.pk,
                quotation=str(quotation.public_id),
                tamkeen_application_number=self.support_application.reference,
                lines=[line(quantity="10", unit_price="40")],
            ),
        ).document
        receipt = docs.document_issue(
            actor=self.holder,
            data=docs.DocumentInput(
                type="receipt",
                customer=self.customer.pk,
                payment_method="bank_transfer",
                payment_reference="TRF-1",
                payment_amount="400",
                allocations=[(str(invoice.public_id), "400")],
            ),
        ).document
        self.claim = support.claim_submit(
            actor=self.claimant,
            application=self.support_application,
            document_refs=[str(invoice.public_id), str(receipt.public_id)],
        )
        support.claim_decide(actor=self.officer, claim=self.claim, decision="approve")
        support.beneficiary_set_iban(actor=self.claimant, iban="BH67BMAG00001299123456")
        self.batch = support.batch_create(actor=self.finance, claim_ids=[self.claim.pk])


BAD_TOKEN = "not-a-confirmation-link"
# Pages that answer an error status on purpose (the page is still one people see).
EXPECTED = {f"/account/confirm/email/{BAD_TOKEN}/": 400}


def pages(d: Data) -> dict[str, list[tuple[str, str]]]:
    """URL name → [(who, path without the language prefix)]."""
    uid = urlsafe_base64_encode(force_bytes(d.holder.pk))
    token = default_token_generator.make_token(d.holder)
    licence = d.licence.number
    return {
        "home": [(who, "/") for who in ROLES],
        "login": [("public", "/login/")],
        "password_change": [("holder", "/password/")],
        "password_reset": [("public", "/password/reset/")],
        "password_reset_done": [("public", "/password/reset/sent/")],
        "password_reset_complete": [("public", "/password/reset/done/")],
        "password_reset_confirm": [("public", f"/password/reset/{uid}/{token}/")],
        "activities": [("public", "/activities/")],
        "activity": [("public", "/activities/home-meals/")],
        "how_to_apply": [("public", "/how-to-apply/")],
        "track": [("public", "/track/")],
        "licence_check": [("public", f"/licences/{d.licence.public_ref}")],
        "privacy": [("public", "/privacy/")],
        "accessibility": [("public", "/accessibility/")],
        "signup": [("public", "/signup/")],
        "account_confirm": [("newcomer", "/account/confirm/"), ("holder", "/account/confirm/")],
        "account": [("holder", "/account/"), ("registrar", "/account/")],
        # a link that does not verify: the page the person sees (answered 400, see EXPECTED)
        "email_confirm": [("public", f"/account/confirm/email/{BAD_TOKEN}/")],
        "notifications": [("holder", "/account/notifications/"), ("customer", "/account/notifications/")],
        "statistics": [("public", "/statistics/"), ("registrar", "/statistics/")],
        "statistics_registrar": [("registrar", "/registrar/statistics/")],
        "statistics_tamkeen": [("officer", "/support/statistics/"), ("finance", "/support/statistics/")],
        "my": [("holder", "/my/"), ("applicant", "/my/")],
        "notices": [("holder", "/notices/")],
        "application_new": [("newcomer", "/applications/new/")],
        "application": [
            ("applicant", f"/applications/{d.draft.pk}/"),
            ("registrar", f"/applications/{d.in_review.pk}/"),
        ],
        "application_edit": [("applicant", f"/applications/{d.draft.pk}/edit/")],
        "licence": [("holder", f"/licence/{licence}/"), ("registrar", f"/licence/{licence}/")],
        "licence_amend": [("holder", f"/licence/{licence}/amend/")],
        "verify_upload": [("public", "/verify/")],
        "verify": [("public", f"/verify/{d.invoice.public_id}")],
        "documents": [("holder", "/documents/"), ("customer", "/documents/")],
        "document_new": [("holder", "/documents/new/"), ("holder", "/documents/new/?type=receipt")],
        "statement_new": [("holder", "/documents/statement/")],
        "document": [
            ("holder", f"/documents/{d.invoice.public_id}/"),
            ("customer", f"/documents/{d.quotation.public_id}/"),
        ],
        "customers": [("holder", "/customers/")],
        "customer_new": [("holder", "/customers/new/")],
        "customer_edit": [("holder", f"/customers/{d.customer.pk}/")],
        "programmes": [("public", "/programmes/")],
        "support": [("holder", "/support/"), ("customer", "/support/")],
        "support_apply": [
            ("customer", "/support/apply/"),
            ("customer", "/support/apply/?programme=bdsupport"),
        ],
        "support_application": [
            ("customer", f"/support/applications/{d.support_application.pk}/"),
            ("officer", f"/support/applications/{d.support_application.pk}/"),
        ],
        "support_claim": [
            ("customer", f"/support/claims/{d.claim.pk}/"),
            ("officer", f"/support/claims/{d.claim.pk}/"),
        ],
        "support_queue": [("officer", "/support/queue/")],
        "support_finance": [("finance", "/support/finance/")],
        "support_batch": [("finance", f"/support/batches/{d.batch.pk}/")],
        "support_reports": [("officer", "/support/reports/"), ("finance", "/support/reports/")],
        "pipeline": [("registrar", "/registrar/")],
        "screening": [("registrar", "/registrar/screening/")],
        "overdue": [("registrar", "/registrar/overdue/")],
        "licences": [("registrar", "/registrar/licences/")],
        "reviews": [("reviewer", "/reviews/")],
        "review": [("reviewer", f"/reviews/{d.review.pk}/")],
    }


ROLES = [
    "public",
    "applicant",
    "newcomer",
    "holder",
    "customer",
    "registrar",
    "reviewer",
    "officer",
    "finance",
]


def users(d: Data) -> dict[str, Any]:
    return {
        "public": None,
        "applicant": d.other,
        "newcomer": d.newcomer,
        "holder": d.holder,
        "customer": d.claimant,
        "registrar": d.registrar,
        "reviewer": d.reviewer,
        "officer": d.officer,
        "finance": d.finance,
    }


def portal_url_names() -> set[str]:
    resolver = get_resolver()
    names: set[str] = set()

    def walk(patterns: list[Any], namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern) and p.name and namespace == "portal":
                names.add(p.name)

    walk(resolver.url_patterns, "")
    return names


def test_every_portal_url_is_checked_or_excused(db):
    """A new named page in the portal must be added to PAGES (or, if it is not a page, to
    NOT_PAGES with its reason): this fails otherwise."""
    d_names = set(PAGE_NAMES)
    names = portal_url_names()
    assert names, "the portal's URLconf has no named URLs?"
    assert names - d_names - set(NOT_PAGES) == set(), "pages nobody checks"
    assert (d_names | set(NOT_PAGES)) - names == set(), "listed names that no longer exist"
    assert d_names.isdisjoint(NOT_PAGES)


# The names pages() returns, without building its data (checked against pages() in the crawl).
PAGE_NAMES = [
    "home",
    "login",
    "password_change",
    "password_reset",
    "password_reset_done",
    "password_reset_complete",
    "password_reset_confirm",
    "activities",
    "activity",
    "how_to_apply",
    "track",
    "licence_check",
    "privacy",
    "accessibility",
    "signup",
    "account_confirm",
    "account",
    "email_confirm",
    "notifications",
    "statistics",
    "statistics_registrar",
    "statistics_tamkeen",
    "my",
    "notices",
    "application_new",
    "application",
    "application_edit",
    "licence",
    "licence_amend",
    "verify_upload",
    "verify",
    "documents",
    "document_new",
    "statement_new",
    "document",
    "customers",
    "customer_new",
    "customer_edit",
    "programmes",
    "support",
    "support_apply",
    "support_application",
    "support_claim",
    "support_queue",
    "support_finance",
    "support_batch",
    "support_reports",
    "pipeline",
    "screening",
    "overdue",
    "licences",
    "reviews",
    "review",
]


def logged_in_context(browser: Browser, base_url: str, user: Any) -> BrowserContext:
    """A browser context with the user's session (made by Django's test client: no log-in form
    per role; the log-in pages themselves are checked as pages)."""
    context = browser.new_context(locale="ar-BH", viewport=PHONE)
    context.add_init_script(path=str(AXE))  # evaluated by the browser, not subject to the CSP
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": base_url,
                }
            ]
        )
    return context


def check(page: Page, where: str, problems: list[str]) -> None:
    """axe-core's critical and serious violations, and (at phone width) sideways scrolling."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    if width == PHONE["width"]:
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > PHONE["width"]:
            wide = page.evaluate(
                """(limit) => [...document.querySelectorAll("body *")]
                  .filter((e) => e.getBoundingClientRect().right > limit + 1 &&
                                 !e.closest(".table-responsive"))
                  .slice(0, 3).map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
                                   "." + [...e.classList].join("."))""",
                PHONE["width"],
            )
            problems.append(f"{where}: {scroll} px wide at 390 px ({', '.join(wide)})")
    for violation in page.evaluate(RUN_AXE, WCAG_TAGS):
        problems.append(f"{where}: {violation}")


def visit(page: Page, url: str, where: str, problems: list[str], expected: int = 200) -> bool:
    response = page.goto(url)
    if response is None or response.status != expected:
        problems.append(f"{where}: answered {response.status if response else 'nothing'}")
        return False
    return True


# One test per language, so that the browser suite's two processes share the crawl.
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_page_of_every_role_passes_axe_at_phone_and_desktop_width(browser, live_server, settings, lang):
    settings.KHUTWA_SITE_URL = live_server.url
    started = time.monotonic()
    d = Data()
    table = pages(d)
    assert sorted(table) == sorted(PAGE_NAMES)
    people = users(d)
    problems: list[str] = []
    visited = 0
    for role in ROLES:
        context = logged_in_context(browser, live_server.url, people[role])
        page = context.new_page()
        for name, entries in table.items():
            for who, path in entries:
                if who != role:
                    continue
                url = f"{live_server.url}/{lang}{path}"
                where = f"{role} {name} /{lang}{path}"
                page.set_viewport_size(PHONE)
                if not visit(page, url, where, problems, EXPECTED.get(path, 200)):
                    continue
                check(page, f"{where} @390", problems)
                page.set_viewport_size(DESKTOP)
                check(page, f"{where} @1280", problems)
                visited += 1
        context.close()
    print(f"\naccessibility: {visited} page loads, 2 widths each, in {time.monotonic() - started:.0f} s")
    assert problems == [], "\n" + "\n".join(problems)


FORMS_WITH_ERRORS: list[tuple[str, str, Callable[[Data], dict[str, str]]]] = [
    ("newcomer", "/applications/new/", lambda d: {}),
    ("newcomer", "/applications/new/", lambda d: {"phone": "12"}),
    ("holder", "/documents/new/", lambda d: {}),
    (
        "holder",
        "/documents/new/?type=invoice",
        lambda d: {"lines-0-description": "Abaya", "lines-0-quantity": "1.2345"},
    ),
    ("holder", "/customers/new/", lambda d: {"kind": "individual", "cpr": "12"}),
    ("holder", "/documents/statement/", lambda d: {"from": "2026-13-01"}),
    ("public", "/track/", lambda d: {"reference": "nonsense", "cpr_last4": "x"}),
    ("public", "/signup/", lambda d: {"cpr": "12", "email": "not-an-address", "password1": "short"}),
    ("customer", "/support/apply/", lambda d: {}),
    (
        "customer",
        "/support/apply/",
        lambda d: {"programme": "bdsupport", "quotation": "QUO-0"},
    ),
    # A form on a detail page (the last form of "My support": the IBAN), sent back with its error.
    ("customer", "/support/", lambda d: {"iban": "GB82WEST12345698765432"}),
]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_main_forms_with_their_errors_shown_pass_axe(browser, live_server, settings, lang):
    """Each form sent empty or wrong by its own submit button, then checked with its errors on
    the page (the error summary has the focus), in both languages, at phone and desktop width."""
    settings.KHUTWA_SITE_URL = live_server.url
    d = Data()
    people = users(d)
    problems: list[str] = []
    for role, path, values in FORMS_WITH_ERRORS:
        context = logged_in_context(browser, live_server.url, people[role])
        page = context.new_page()
        where = f"{role} {path} with errors /{lang}"
        page.set_viewport_size(PHONE)
        if visit(page, f"{live_server.url}/{lang}{path}", where, problems):
            form = page.locator("main form[method=post]").last
            for field, value in values(d).items():
                target = form.locator(f"[name='{field}']")
                if target.evaluate("e => e.tagName") == "SELECT":
                    target.select_option(value)
                else:
                    target.fill(value)
            form.evaluate("f => { f.noValidate = true; }")  # the server's errors, not the browser's
            with page.expect_navigation():
                form.locator("[type=submit]").last.click()
            expect(page.locator("#error-summary")).to_be_focused()
            check(page, f"{where} @390", problems)
            page.set_viewport_size(DESKTOP)
            check(page, f"{where} @1280", problems)
        context.close()
    assert problems == [], "\n" + "\n".join(problems)


def test_axe_finds_a_violation_when_there_is_one(browser, live_server):
    """The check is live: an unlabelled field, grey text under 4.5:1 and a box wider than the
    phone fail it."""
    context = logged_in_context(browser, live_server.url, None)
    page = context.new_page()
    page.goto(f"{live_server.url}/en/privacy/")
    page.evaluate(
        """() => { const i = document.createElement("input"); document.querySelector("main").append(i);
                   const s = document.createElement("p"); s.className = "text-black-50";
                   s.textContent = "Grey on white: 3.9 to 1"; document.querySelector("main").append(s);
                   document.querySelector("main").append(Object.assign(document.createElement("div"),
                     {className: "d-block", textContent: "KH-2026-000001 ".repeat(40)}));
                   document.querySelector("main").append(Object.assign(document.createElement("bdi"),
                     {textContent: "KH-2026-000001-".repeat(40)})); }"""
    )
    problems: list[str] = []
    check(page, "broken", problems)
    assert any("label" in p for p in problems), problems
    assert any("color-contrast" in p for p in problems), problems
    assert any("px wide at 390 px" in p for p in problems), problems
    context.close()
