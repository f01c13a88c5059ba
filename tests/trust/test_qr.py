"""The QR content: a short verification URL that also verifies offline; its images."""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
import zxingcpp
from PIL import Image

from khutwa.trust.qr import (
    QrError,
    facts_from_seal_param,
    parse_qr,
    qr_content,
    qr_png,
    qr_svg,
    qr_version,
    seal_param,
)
from khutwa.trust.seal import Facts, key_id, seal_string, sign_seal
from tests.trust.factories import BASE_URL, signing_key

KEY = signing_key()
KID = key_id(KEY.public_key())
PUBLIC_ID = "3f2b8c1e-9d4a-4e7b-8a61-2c5d9e0f7a13"


def largest_facts(doc_type: str = "credit_note") -> Facts:
    """The largest plausible facts: six-digit sequence numbers, totals in the millions."""
    return Facts(
        type=doc_type,
        number="CRN-2026-999999",
        licence="KH-2026-999999",
        date="2026-12-31",
        total="9999999.999",
        vat="999999.999",
        hash="f" * 64,
        kid=KID,
    )


def content_for(facts: Facts, base_url: str = BASE_URL, public_id: str = PUBLIC_ID) -> str:
    return qr_content(base_url, public_id, facts, sign_seal(facts, KEY))


def test_content_is_the_verification_url() -> None:
    facts = largest_facts()
    signature = sign_seal(facts, KEY)
    content = qr_content(BASE_URL + "/", PUBLIC_ID, facts, signature)
    assert content == f"{BASE_URL}/verify/{PUBLIC_ID}?s={seal_string(facts).replace('|', '~')}&g={signature}"
    assert "%" not in content and "|" not in content and " " not in content
    assert parse_qr(content) == (PUBLIC_ID, facts, signature)


def test_seal_param_round_trips() -> None:
    facts = largest_facts()
    assert facts_from_seal_param(seal_param(facts)) == facts
    with pytest.raises(QrError, match="characters outside"):
        facts_from_seal_param(seal_string(facts))


@pytest.mark.parametrize(
    "doc_type", ["quotation", "invoice", "credit_note", "delivery_note", "receipt", "statement"]
)
def test_realistic_content_fits_version_15_at_m(doc_type: str) -> None:
    content = content_for(largest_facts(doc_type))
    assert len(content) < 300
    assert qr_version(content) <= 15
    assert qr_version(content) == 13  # today's size: keep it from growing unnoticed


def test_longest_allowed_fields_still_fit_version_16() -> None:
    facts = Facts(
        type="credit_note",
        number="N" * 32,
        licence="L" * 32,
        date="2026-12-31",
        total="-9999999999999.999",
        vat="-9999999999999.999",
        hash="f" * 64,
        kid=KID,
    )
    assert qr_version(content_for(facts, base_url="https://khutwa.mosd.gov.bh")) <= 16


def test_png_decodes_to_the_same_content() -> None:
    content = content_for(largest_facts())
    png = qr_png(content, 4)
    assert png.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(png))
    assert image.size == ((13 * 4 + 17 + 8) * 4,) * 2  # version 13: 69 modules + 2×4 quiet zone
    results = zxingcpp.read_barcodes(image)
    assert [result.text for result in results] == [content]
    assert results[0].ec_level == "M"


def test_svg_is_a_standalone_svg_document() -> None:
    svg = qr_svg(qr_content(BASE_URL, PUBLIC_ID, largest_facts(), sign_seal(largest_facts(), KEY)))
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == str((69 + 8) * 4)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c.replace("?s=", "?t="), "expected <site>"),
        (lambda c: c.replace("&g=", "&h="), "expected <site>"),
        (lambda c: c + "&x=1", "signature"),
        (lambda c: c.replace(PUBLIC_ID, PUBLIC_ID.upper()), "lower-case hyphenated UUID"),
        (lambda c: c.replace(PUBLIC_ID, PUBLIC_ID.replace("-", "")), "lower-case hyphenated UUID"),
        (lambda c: c.replace("~", "|", 1), "characters outside"),
        (lambda c: c.replace("~", "%7E", 1), "characters outside"),
        (lambda c: c.replace("KW1", "KW9"), "unsupported seal version"),
        (lambda c: c.replace("https://", "ftp://"), "expected <site>"),
        (lambda c: c.replace("https://khutwa.example.bh", "https://user@khutwa.example.bh"), "plain http"),
        (lambda c: c[:-1], "signature"),
        (lambda c: c.replace("CRN~", "XYZ~"), "unknown document type code"),
        (lambda c: c.replace("/verify/", "/verify/" * 200, 1), "longer than 1024"),
    ],
)
def test_parse_qr_refuses_what_it_would_not_write(change: Callable[[str], str], words: str) -> None:
    content = content_for(largest_facts())
    with pytest.raises(QrError, match=words):
        parse_qr(change(content))


def test_qr_content_refuses_bad_parts() -> None:
    facts = largest_facts()
    signature = sign_seal(facts, KEY)
    with pytest.raises(QrError, match="base URL"):
        qr_content("khutwa.example.bh", PUBLIC_ID, facts, signature)
    with pytest.raises(QrError, match="base URL"):
        qr_content(BASE_URL + "?x=1", PUBLIC_ID, facts, signature)
    with pytest.raises(QrError, match="UUID"):
        qr_content(BASE_URL, "45", facts, signature)
    with pytest.raises(QrError, match="signature"):
        qr_content(BASE_URL, PUBLIC_ID, facts, signature + "A")
    assert qr_content(BASE_URL + "/khutwa", str(uuid.UUID(int=1)), facts, signature).startswith(
        BASE_URL + "/khutwa/verify/00000000-0000-0000-0000-000000000001?s=KW1~CRN~"
    )
