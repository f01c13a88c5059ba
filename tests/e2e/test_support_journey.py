"""A Tamkeen customer receives a quotation from a holder, applies for support with it, the
officer approves, the holder invoices and receipts it, the customer claims, the checks pass,
finance pays — in English and in Arabic, through the portal on a phone-sized screen."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.catalogue.models import LicenceTier
from khutwa.documents import services as docs
from khutwa.documents.models import Document
from khutwa.documents.signing import cache_clear
from khutwa.support.models import Programme, ProgrammeCap, SupportApplication
from tests.conftest import PASSWORD
from tests.e2e.conftest import follow
from tests.licensing.factories import World, applicant, staff

pytestmark = [pytest.mark.django_db(transaction=True)]


def login(browser: Browser, base: str, lang: str, user) -> Page:
    user.set_password(PASSWORD)
    user.save()
    page = browser.new_context(
        locale="ar-BH" if lang == "ar" else "en-GB", viewport={"width": 390, "height": 844}
    ).new_page()
    page.goto(f"{base}/{lang}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/{lang}/")
    return page


def submit(page: Page, selector: str) -> None:
    follow(page, selector)


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_quotation_to_support_to_claim_to_payout(browser, live_server, settings, tmp_path, monkeypatch, lang):
    settings.KHUTWA_KEY_DIR = tmp_path / "keys"
    settings.KHUTWA_SITE_URL = live_server.url
    monkeypatch.setenv("KHUTWA_KEY_PASSPHRASE", "e2e")
    cache_clear()
    base = live_server.url
    world = World()
    world.licensed(activities=["home-meals"], tier="standard")
    holder = world.applicant
    customer = applicant(cpr="870303003", username=f"yousif-{lang}")
    user_set_roles(user=customer, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
    officer, finance = staff(Role.TAMKEEN_OFFICER), staff(Role.TAMKEEN_FINANCE)
    book = docs.customer_create(
        actor=holder, kind="individual", cpr="870303003", name_en="Yousif", name_ar="يوسف"
    )
    programme = Programme.objects.create(
        code="bd",
        name_ar="دعم تطوير الأعمال",
        name_en="Business development",
        kind="equipment",
        open_from=timezone.localdate() - dt.timedelta(days=1),
        budget=Decimal("5000"),
        rate=Decimal("0.5"),
    )
    ProgrammeCap.objects.create(
        programme=programme, tier=LicenceTier.objects.get(code="standard"), cap=Decimal("900")
    )

    # 1. The holder issues a quotation to the customer.
    hp = login(browser, base, lang, holder)
    hp.goto(f"{base}/{lang}/documents/new/?type=quotation")
    hp.select_option("#id_customer", str(book.pk))
    hp.fill("#id_valid_until", (timezone.localdate() + dt.timedelta(days=20)).isoformat())
    hp.fill("#l0d", "Catering")
    hp.fill("#l0q", "10")
    hp.fill("#l0p", "30")
    submit(hp, "#document-form button[type=submit]")
    expect(hp.locator("#total")).to_have_text("300.000")
    quotation = Document.objects.get(type="quotation")

    # 2. The customer sees the eligibility live and applies.
    cp = login(browser, base, lang, customer)
    cp.goto(f"{base}/{lang}/support/apply/?programme=bd")
    cp.fill("#id_quotation", str(quotation.public_id))
    expect(cp.locator("#eligible")).to_have_attribute("data-eligible", "true")
    submit(cp, "#support-form button[name=submit]")
    expect(cp.locator("#support-status")).to_have_attribute("data-status", "submitted")
    application = SupportApplication.objects.get()

    # 3. The officer approves: 50% of 300 is reserved.
    op = login(browser, base, lang, officer)
    op.goto(f"{base}/{lang}/support/applications/{application.pk}/")
    op.select_option("#support-decision select[name=decision]", "approve")
    submit(op, "#support-decision button[type=submit]")
    expect(op.locator("#support-status")).to_have_attribute("data-status", "approved")
    expect(op.locator("#entitlement")).to_have_text("150.000")

    # 4. The holder invoices against the quotation with the Tamkeen number, and records the payment.
    hp.goto(f"{base}/{lang}/documents/new/?type=invoice")
    hp.select_option("#id_customer", str(book.pk))
    hp.fill("#id_tamkeen", application.reference)
    hp.select_option("#id_quotation", str(quotation.public_id))
    hp.fill("#l0d", "Catering")
    hp.fill("#l0q", "10")
    hp.fill("#l0p", "30")
    submit(hp, "#document-form button[type=submit]")
    invoice = Document.objects.get(type="invoice")
    hp.goto(f"{base}/{lang}/documents/new/?type=receipt")
    hp.select_option("#id_customer", str(book.pk))
    hp.select_option("#id_method", "bank_transfer")
    hp.fill("#id_reference", "TRF-2211")
    hp.fill("#id_amount", "300")
    hp.select_option("select[name=alloc-0-invoice]", str(invoice.public_id))
    hp.fill("input[name=alloc-0-amount]", "300")
    submit(hp, "#document-form button[type=submit]")
    receipt = Document.objects.get(type="receipt")

    # 5. The customer claims on the invoice and the receipt; every check passes.
    cp.goto(f"{base}/{lang}/support/applications/{application.pk}/")
    cp.fill("#id_documents", f"{invoice.public_id}\n{receipt.public_id}")
    submit(cp, "#claim-form button[type=submit]")
    expect(cp.locator("#checks li[data-passed=false]")).to_have_count(0)
    expect(cp.locator("#claim-status")).to_have_attribute("data-status", "submitted")
    claim_url = cp.url.replace(f"/{lang}/", f"/{lang}/")
    cp.goto(f"{base}/{lang}/support/")
    cp.fill("input[name=iban]", "BH67 BMAG 0000 1299 1234 56")
    submit(cp, "form[action$='/support/iban/'] button[type=submit]")

    # 6. The officer approves the claim in one action; finance pays it.
    op.goto(claim_url)
    submit(op, "#claim-decision button[value=approve]")
    expect(op.locator("#claim-status")).to_have_attribute("data-status", "verified")
    fp = login(browser, base, lang, finance)
    fp.goto(f"{base}/{lang}/support/finance/")
    submit(fp, "#batch-form button[type=submit]")
    submit(fp, "#mark-paid")
    expect(fp.locator("#batch-status")).to_have_attribute("data-status", "paid")
    programme.refresh_from_db()
    assert programme.paid == Decimal("150.000") and programme.reserved == Decimal("0.000")
    cache_clear()
