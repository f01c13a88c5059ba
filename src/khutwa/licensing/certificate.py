"""The licence certificate: one bilingual (Arabic first, English second) A4 page, rendered
with WeasyPrint as PDF/A-3b and signed like official documents (PAdES B-LTA, the platform's
document-signing certificate, time-stamped), with a QR code that points at the public licence
check page.

Privacy: the certificate shows only the licence number, trade name, holder's name, tier,
activities, validity, status and conditions; never the holder's CPR, phone or address.
Rendering reads nothing but the bundled Amiri font files and data: URIs (no network).
"""

from __future__ import annotations

import hashlib
from io import BytesIO
from pathlib import Path
from typing import Any

import fontpkg_amiri
import segno
from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from khutwa.documents.signing import pdf_sign
from khutwa.licensing.models import CertificateFile, Licence, LicenceStatus
from khutwa.trust.pdf import render_pdfa3

FONT_DIR = Path(fontpkg_amiri.__file__).parent / "files"

# Fixed bilingual wording, as printed on the certificate (not the portal's translations).
STATUS_LABELS: dict[str, tuple[str, str]] = {
    LicenceStatus.ACTIVE: ("سارية", "Active"),
    LicenceStatus.SUSPENDED: ("موقوفة", "Suspended"),
    LicenceStatus.CANCELLED: ("ملغاة", "Cancelled"),
    LicenceStatus.EXPIRED: ("منتهية", "Expired"),
}


def licence_check_url(licence: Licence) -> str:
    """The public page where anyone can check this licence (what the QR code holds): its number
    with its check code, which the public check needs (licence numbers are sequential)."""
    return f"{settings.KHUTWA_SITE_URL}/licences/{licence.public_ref}"


def qr_svg_data_uri(content: str) -> str:
    """A QR code (error correction M, 4-module quiet zone) as an SVG data URI."""
    qr = segno.make(content, error="M", micro=False, boost_error=False)
    return qr.svg_data_uri(scale=1, border=4, dark="#000", light="#fff")


def certificate_context(licence: Licence, *, compact: bool = False) -> dict[str, Any]:
    check_url = licence_check_url(licence)
    status_ar, status_en = STATUS_LABELS.get(licence.status, (licence.status, licence.status))
    activities = sorted(licence.activities.all(), key=lambda a: (a.sort_order, a.code))
    return {
        "licence": licence,
        "compact": compact,
        "activities": activities,
        "status_ar": status_ar,
        "status_en": status_en,
        "is_active": licence.status == LicenceStatus.ACTIVE,
        "check_url": check_url,
        "qr_data_uri": qr_svg_data_uri(check_url),
        "font_regular_url": (FONT_DIR / "Amiri-Regular.ttf").as_uri(),
        "font_bold_url": (FONT_DIR / "Amiri-Bold.ttf").as_uri(),
    }


def certificate_html(licence: Licence, *, compact: bool = False) -> str:
    return render_to_string("licensing/certificate.html", certificate_context(licence, compact=compact))


def certificate_pdf(licence: Licence) -> bytes:
    """The licence certificate as a signed PDF/A-3, rendered once for each state of the licence
    (what it shows: status, validity, activities, conditions...) and kept (CertificateFile); a
    worker renders it right after each change (licensing/tasks.py)."""
    return certificate_file(licence)[0]


def certificate_file(licence: Licence) -> tuple[bytes, bool]:
    """The stored certificate of the licence's current state, rendering and keeping it when there
    is none; and whether this call rendered it."""
    html = certificate_html(licence)
    digest = hashlib.sha256(html.encode()).hexdigest()
    stored = CertificateFile.objects.filter(licence=licence, content_sha256=digest).first()
    if stored is not None:
        return bytes(stored.pdf), False
    pdf = certificate_pdf_render(licence, html=html)
    try:
        with transaction.atomic():
            CertificateFile.objects.create(
                licence=licence, content_sha256=digest, pdf=pdf, rendered_at=timezone.now()
            )
            # Only the current state's file is kept.
            CertificateFile.objects.filter(licence=licence).exclude(content_sha256=digest).delete()
    except IntegrityError:  # rendered meanwhile by another process: serve the stored one
        return bytes(CertificateFile.objects.get(licence=licence, content_sha256=digest).pdf), False
    return pdf, True


def certificate_pdf_render(licence: Licence, *, html: str | None = None) -> bytes:
    """Render and sign the certificate: one A4 page.

    When many activities and long conditions do not fit, it is laid out again in a compact
    style; text that still does not fit flows onto a second page rather than being cut.
    """
    pdf = _render(licence, compact=False, html=html)
    if _pages(pdf) > 1:
        pdf = _render(licence, compact=True)
    return pdf_sign(pdf, reason=f"Khutwa licence certificate {licence.number}")


def _render(licence: Licence, *, compact: bool, html: str | None = None) -> bytes:
    # Only local files (the fonts) and data: URIs (the QR code); a failed fetch is an error,
    # not a silently missing font.
    return render_pdfa3(
        html or certificate_html(licence, compact=compact), attachments=[], title=licence.number, lang="ar"
    )


def _pages(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return int(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Count"])
