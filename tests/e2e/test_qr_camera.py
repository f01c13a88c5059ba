"""On a phone, the customer attaches a document to a claim by pointing the camera at its QR
code. Chromium's fake camera plays a video of the invoice's QR code (made here from the same
content the PDF carries); the page reads it with jsQR and the claim is checked as usual."""

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
import segno
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.catalogue.models import LicenceTier
from khutwa.documents import services as docs
from khutwa.documents.pdf import qr_of
from khutwa.documents.signing import cache_clear
from khutwa.support import services
from khutwa.support.models import Programme, ProgrammeCap
from tests.e2e.conftest import CHROMIUM_FLAGS, chromium_path, follow
from tests.e2e.test_support_journey import login
from tests.licensing.factories import World, applicant, staff

pytestmark = [pytest.mark.django_db(transaction=True)]


def camera_video(content: str, path: Path, width: int = 640, height: int = 480) -> Path:
    """A Y4M (4:2:0) video whose every frame shows the QR code of `content`."""
    png = io.BytesIO()
    segno.make(content, error="m").save(png, kind="png", scale=4, border=4)
    code = Image.open(png).convert("RGB")
    side = min(height - 40, code.width * 2)
    frame = Image.new("RGB", (width, height), "white")
    frame.paste(code.resize((side, side), Image.NEAREST), ((width - side) // 2, (height - side) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    data = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            out.write(b"FRAME\n" + data)
    return path


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_document_is_attached_by_scanning_its_qr_code(
    playwright, live_server, settings, tmp_path, monkeypatch, lang
):
    settings.KHUTWA_KEY_DIR = tmp_path / "keys"
    settings.KHUTWA_SITE_URL = live_server.url
    monkeypatch.setenv("KHUTWA_KEY_PASSPHRASE", "e2e")
    cache_clear()
    world = World()
    world.licensed(activities=["home-meals"], tier="standard")
    holder = world.applicant
    customer = applicant(cpr="870303003", username=f"scanner-{lang}")
    user_set_roles(user=customer, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
    officer = staff(Role.TAMKEEN_OFFICER)
    programme = Programme.objects.create(
        code="bd",
        name_ar="دعم تطوير الأعمال",
        name_en="Business development",
        kind="equipment",
        open_from=timezone.localdate() - dt.timedelta(days=1),
        budget=Decimal("5000"),
        rate=Decimal("0.5"),
        claim_requires_receipt=False,
    )
    ProgrammeCap.objects.create(
        programme=programme, tier=LicenceTier.objects.get(code="standard"), cap=Decimal("900")
    )
    book = docs.customer_create(actor=holder, kind="individual", cpr="870303003", name_en="Yousif")
    line = docs.LineInput(activity="home-meals", description="Catering", quantity="10", unit_price="30")
    quotation = docs.document_issue(
        actor=holder,
        data=docs.DocumentInput(
            type="quotation",
            customer=book.pk,
            valid_until=timezone.localdate() + dt.timedelta(days=20),
            lines=[line],
        ),
    ).document
    application = services.application_create(
        actor=customer, programme_code="bd", quotation_ref=str(quotation.public_id)
    )
    services.application_decide(actor=officer, application=application, decision="approve")
    invoice = docs.document_issue(
        actor=holder,
        data=docs.DocumentInput(
            type="invoice",
            customer=book.pk,
            quotation=str(quotation.public_id),
            tamkeen_application_number=application.reference,
            lines=[line],
        ),
    ).document
    content = qr_of(invoice)
    video = camera_video(content, tmp_path / "qr.y4m")
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    base = live_server.url
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
    try:
        page = login(browser, base, lang, customer)
        page.goto(f"{base}/{lang}/support/applications/{application.pk}/")
        page.click("[data-qr-scan=id_documents]")
        expect(page.locator("#id_documents")).to_have_value(content, timeout=20_000)
        follow(page, "#claim-form button[type=submit]")
        expect(page.locator("#claim-status")).to_have_attribute("data-status", "submitted")
        expect(page.locator("#checks li[data-passed=false]")).to_have_count(0)
    finally:
        browser.close()
    assert [d.document_id for d in application.claims.get().documents.all()] == [invoice.pk]
