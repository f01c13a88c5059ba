"""Every event's templates render in Arabic and English, as plain text, with its reference."""

from __future__ import annotations

import re

import pytest

from khutwa.notifications.selectors import mobile_of
from khutwa.notifications.services import EVENTS, render, render_bilingual

ARABIC = re.compile(r"[\u0600-\u06FF]")

CONTEXT = {
    "ref": "KH-2026-000123",
    "number": "HB-2026-000045",
    "note": "a clear copy of the smart card",
    "body_ar": "الدفاع المدني",
    "body_en": "Civil Defence",
    "approved": False,
    "message_ar": "بدأ المسجّل تدقيق طلبك.",
    "message_en": "The registrar started checking your application.",
    "valid_until": "2026-12-31",
    "days_left": 30,
    "programme_ar": "دعم المعدات",
    "programme_en": "Equipment support",
    "decision": "approve",
    "reason": "",
    "entitlement": "200.000",
    "expires_on": "2027-01-31",
    "amount": "200.000",
    "batch": "PAY-2026-0001",
    "trade_name": "Fatima Kitchen",
    "total": "400.000",
    "link": "https://khutwa.example/ar/x/",
    "verify_link": "https://khutwa.example/ar/verify/abc",
}


@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_each_event_renders_in_each_language(event, language):
    message = render(event, language, CONTEXT)
    for text in (message.subject, message.body, message.sms):
        assert text and "{" not in text and "%" not in text
        # Arabic messages are in Arabic; English ones carry no Arabic (the context here has none
        # in the fields English messages show).
        assert bool(ARABIC.search(text)) == (language == "ar")
    assert "\n" not in message.subject
    assert "\n" not in message.sms
    # The reference or number the message is about is in the subject.
    assert any(v in message.subject for v in ("KH-2026-000123", "HB-2026-000045")) or event in (
        "support_decided",
        "claim_paid",
    )


def test_plain_text_is_not_html_escaped():
    body = render("information_requested", "ar", {**CONTEXT, "note": "صورة البطاقة <مطلوبة> & واضحة"}).body
    assert "صورة البطاقة <مطلوبة> & واضحة" in body and "&lt;" not in body
    assert "الدفاع المدني" in body


def test_links_follow_the_language():
    def link() -> str:
        from django.utils.translation import get_language

        return f"https://khutwa.example/{get_language()}/x/"

    assert (
        "https://khutwa.example/en/x/" in render("application_received", "en", {**CONTEXT, "link": link}).body
    )
    assert (
        "https://khutwa.example/ar/x/" in render("application_received", "ar", {**CONTEXT, "link": link}).body
    )


def test_bilingual_is_arabic_first_with_english_below():
    message = render_bilingual("quotation_received", CONTEXT)
    assert message.body.index("عرض السعر") < message.body.index("issued quotation")
    assert message.subject.startswith("عرض سعر") and "Quotation HB-2026-000045" in message.subject


def test_an_unknown_event_is_an_error():
    with pytest.raises(ValueError, match="unknown"):
        render("nothing", "ar", CONTEXT)


@pytest.mark.parametrize(
    ("phone", "mobile"),
    [
        ("33123456", "+97333123456"),
        ("3312 3456", "+97333123456"),
        ("+973 6612-3456", "+97366123456"),
        ("0097333123456", "+97333123456"),
        ("17123456", ""),  # a fixed line
        ("3312345", ""),
        ("", ""),
        ("+44 7700 900123", ""),
    ],
)
def test_mobile_numbers(phone, mobile):
    assert mobile_of(phone) == mobile
