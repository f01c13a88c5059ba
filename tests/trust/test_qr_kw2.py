"""KW2: every character of the QR is signed, so any one changed character is refused offline.

KW1 signs the seal only: a changed site or public id still verifies with the JWKS alone. KW2
(payload ``"v": 2``) signs the site and the public id too, and the signature is canonical
base64url: nothing of the content can change without the signature failing or the content
being refused as malformed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khutwa.trust.qr import QrError, facts_from_seal_param, parse_qr, qr_content, qr_version, seal_param
from khutwa.trust.seal import TYPE_CODES, Facts, key_id, seal_head, seal_payload, seal_string, sign_seal
from khutwa.trust.verify import REASON_BAD_SIGNATURE, REASON_HASH_DIFFERS, verify_qr
from tests.trust.factories import BASE_URL, jwk, jwks, make_payload, signing_key

KEY = signing_key()
KID = key_id(KEY.public_key())
JWKS = jwks(jwk(KEY))
PUBLIC_ID = "3f2b8c1e-9d4a-4e7b-8a61-2c5d9e0f7a13"
PAYLOAD = make_payload(v=2, lines=20, vat_registered=True, public_id=PUBLIC_ID)
FACTS, SIGNATURE = seal_payload(PAYLOAD, KID, KEY)
CONTENT = qr_content(BASE_URL, PUBLIC_ID, FACTS, SIGNATURE)
KW1_PAYLOAD = make_payload(v=1, lines=20, vat_registered=True, public_id=PUBLIC_ID)
KW1_FACTS, KW1_SIGNATURE = seal_payload(KW1_PAYLOAD, KID, KEY)
KW1_CONTENT = qr_content(BASE_URL, PUBLIC_ID, KW1_FACTS, KW1_SIGNATURE)


def _refused(tampered: str, what: str = "") -> list[str]:
    """The reasons why ``tampered`` is refused with nothing but the JWKS; fails if it is not."""
    result = verify_qr(tampered, JWKS)
    assert not result.valid, f"{what}: {tampered}"
    assert len(result.reasons) == 1, (what, result.reasons)
    [reason] = result.reasons
    assert (
        reason == REASON_BAD_SIGNATURE
        or reason.startswith("malformed QR content: ")
        or reason.startswith("unknown key id ")
    ), reason
    return result.reasons


def test_the_kw2_content_is_as_short_as_kw1() -> None:
    assert f"{BASE_URL}/verify/{PUBLIC_ID}?s={seal_param(FACTS)}&g={SIGNATURE}" == CONTENT
    assert seal_param(FACTS).startswith("KW2~INV~INV-2026-000045~KH-2026-000166~2026-11-27~")
    assert PUBLIC_ID not in seal_param(FACTS) and "khutwa" not in seal_param(FACTS)
    assert len(CONTENT) == len(KW1_CONTENT) == 288
    assert qr_version(CONTENT) == qr_version(KW1_CONTENT) == 13


def test_the_kw2_content_verifies_alone_and_reports_its_signed_site() -> None:
    assert parse_qr(CONTENT) == (PUBLIC_ID, FACTS, SIGNATURE)
    result = verify_qr(CONTENT, JWKS)
    assert result.valid and result.facts == FACTS
    assert result.signed_site == BASE_URL and result.facts.public_id == PUBLIC_ID  # type: ignore[union-attr]
    assert verify_qr(CONTENT, JWKS, expected_base_url=BASE_URL + "/", payload=PAYLOAD).valid
    assert verify_qr(KW1_CONTENT, JWKS).signed_site is None


# --- the exhaustive check: every position × several substitutes, insertions, deletions -------

SUBSTITUTES = "/~-_.:?&=%#+ A0a9zZ|é"
INSERTIONS = "/s-.~A0"


def _edits(content: str) -> list[tuple[str, str]]:
    """(description, tampered content) for every single-character edit considered."""
    edits: list[tuple[str, str]] = []
    for i, c in enumerate(content):
        candidates = set(SUBSTITUTES) | {c.swapcase(), chr(ord(c) + 1), chr(ord(c) - 1)}
        for r in sorted(candidates - {c}):
            edits.append((f"{i}: {c!r} → {r!r}", content[:i] + r + content[i + 1 :]))
        edits.append((f"{i}: {c!r} deleted", content[:i] + content[i + 1 :]))
    for i in range(len(content) + 1):
        for r in INSERTIONS:
            edits.append((f"{i}: {r!r} inserted", content[:i] + r + content[i:]))
    return [(what, tampered) for what, tampered in edits if tampered != content]


def test_every_single_character_edit_of_a_kw2_qr_is_refused_offline() -> None:
    edits = _edits(CONTENT)
    assert len(edits) > 20 * len(CONTENT)
    site_end = len(BASE_URL)
    refusals: dict[str, int] = {}
    for what, tampered in edits:
        [reason] = _refused(tampered, what)
        key = "signature" if reason == REASON_BAD_SIGNATURE else reason.split(":")[0].split(" '")[0]
        refusals[key] = refusals.get(key, 0) + 1
    # the site and the public id are refused by the signature, not only by their form:
    for tampered in (
        CONTENT.replace("https://", "http://", 1),
        CONTENT.replace("khutwa.example", "khutwa.exampl3", 1),
        CONTENT.replace("example.bh", "example.bb", 1),
        CONTENT.replace(PUBLIC_ID, PUBLIC_ID[:-1] + "4", 1),
        CONTENT.replace(PUBLIC_ID, "0" + PUBLIC_ID[1:], 1),
        CONTENT[:site_end] + "/k" + CONTENT[site_end:],
    ):
        assert _refused(tampered) == [REASON_BAD_SIGNATURE], tampered
    assert refusals["signature"] > 0 and refusals["malformed QR content"] > 0, refusals


def test_the_same_edits_of_a_kw1_qr_leave_its_site_and_public_id_unsigned() -> None:
    """Why KW2 exists: the very same edits of the URL of a KW1 QR still verify alone."""
    unsigned = [t for _, t in _edits(KW1_CONTENT) if verify_qr(t, JWKS).valid]
    assert unsigned and all(t[t.index("?s=") :] == KW1_CONTENT[KW1_CONTENT.index("?s=") :] for t in unsigned)
    assert KW1_CONTENT.replace("https://", "http://", 1) in unsigned


# --- the same property on generated documents, sites and edits ---------------------------------

identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,31}", fullmatch=True)
amounts = st.from_regex(r"-?(0|[1-9][0-9]{0,12})\.[0-9]{3}", fullmatch=True).filter(lambda a: a != "-0.000")
sites = st.from_regex(
    r"https?://[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?(:[1-9][0-9]{0,4})?(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,8}){0,3}",
    fullmatch=True,
)
kw2_facts = st.builds(
    Facts,
    type=st.sampled_from(list(TYPE_CODES)),
    number=identifiers,
    licence=identifiers,
    date=st.dates(min_value=dt.date(1000, 1, 1)).map(lambda d: d.isoformat()),
    total=amounts,
    vat=amounts,
    hash=st.binary(min_size=32, max_size=32).map(bytes.hex),
    kid=st.just(KID),
    public_id=st.uuids().map(str),
    site=sites,
)
edit_characters = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + "/~-_.:?&=%#+@ "), st.characters()
)


@settings(max_examples=200, deadline=None)
@given(facts=kw2_facts, data=st.data())
def test_any_single_character_edit_of_any_kw2_qr_is_refused(facts: Facts, data: st.DataObject) -> None:
    assert facts.site is not None and facts.public_id is not None
    content = qr_content(facts.site, facts.public_id, facts, sign_seal(facts, KEY))
    assert verify_qr(content, JWKS, expected_base_url=facts.site).valid
    operation = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="operation")
    position = data.draw(st.integers(0, len(content) - (operation != "insert")), label="position")
    if operation == "delete":
        tampered = content[:position] + content[position + 1 :]
    else:
        character = data.draw(edit_characters, label="character")
        tail = content[position + 1 :] if operation == "replace" else content[position:]
        tampered = content[:position] + character + tail
    if tampered != content:
        _refused(tampered)


# --- the official site, the payload, and the QR's own checks ------------------------------------


def test_a_kw2_qr_signed_for_another_site_is_refused_with_the_official_site() -> None:
    other = dataclasses.replace(FACTS, site="https://khutwa-example.bh")
    content = qr_content("https://khutwa-example.bh", PUBLIC_ID, other, sign_seal(other, KEY))
    assert verify_qr(content, JWKS).valid  # genuinely signed, but for another site...
    result = verify_qr(content, JWKS, expected_base_url=BASE_URL)
    assert result.signed_site == "https://khutwa-example.bh"
    assert result.reasons == [
        f"the document is signed for the site https://khutwa-example.bh, not the official site {BASE_URL}"
    ]


def test_a_kw2_qr_is_compared_with_its_payload() -> None:
    other = make_payload(v=2, counter=46, lines=3)
    assert verify_qr(CONTENT, JWKS, payload=other).reasons == [
        f"the QR's public id {PUBLIC_ID} is not the document's ({other['public_id']})",
        REASON_HASH_DIFFERS,
        "the sealed number 'INV-2026-000045' is not the document's",
        f"the sealed total {FACTS.total!r} is not the document's",
        f"the sealed vat {FACTS.vat!r} is not the document's",
    ]
    elsewhere = make_payload(
        v=2, lines=20, vat_registered=True, public_id=PUBLIC_ID, site="https://k.example"
    )
    assert verify_qr(CONTENT, JWKS, payload=elsewhere).reasons == [
        REASON_HASH_DIFFERS,
        f"the sealed site {BASE_URL!r} is not the document's",
    ]
    assert verify_qr(KW1_CONTENT, JWKS, payload=PAYLOAD).reasons == [
        REASON_HASH_DIFFERS,
        "the QR's seal is KW1 but the document is sealed with KW2",
    ]


def test_a_kw2_signature_cannot_be_passed_off_as_kw1() -> None:
    """Rewriting ``KW2`` as ``KW1`` (to make the site unsigned) breaks the signature."""
    downgraded = CONTENT.replace("?s=KW2~", "?s=KW1~", 1)
    assert parse_qr(downgraded)[1].version == "KW1"
    assert _refused(downgraded) == [REASON_BAD_SIGNATURE]
    assert _refused(KW1_CONTENT.replace("?s=KW1~", "?s=KW2~", 1)) == [REASON_BAD_SIGNATURE]


def test_qr_content_refuses_kw2_facts_of_another_site_or_public_id() -> None:
    with pytest.raises(
        QrError, match=r"sealed for the site 'https://khutwa\.example\.bh', not 'http://khutwa"
    ):
        qr_content("http://khutwa.example.bh", PUBLIC_ID, FACTS, SIGNATURE)
    with pytest.raises(QrError, match="sealed for the site"):
        qr_content(BASE_URL + "/k", PUBLIC_ID, FACTS, SIGNATURE)
    with pytest.raises(QrError, match=f"sealed for the public id {PUBLIC_ID}, not"):
        qr_content(BASE_URL, "00000000-0000-0000-0000-000000000001", FACTS, SIGNATURE)
    assert qr_content(BASE_URL + "/", PUBLIC_ID, FACTS, SIGNATURE) == CONTENT  # a trailing slash is dropped


def test_facts_from_seal_param_needs_the_urls_site_and_public_id_for_kw2() -> None:
    param = seal_param(FACTS)
    assert param == seal_head(FACTS).replace("|", "~") and seal_string(FACTS).startswith(seal_head(FACTS))
    assert facts_from_seal_param(param, public_id=PUBLIC_ID, site=BASE_URL) == FACTS
    with pytest.raises(QrError, match="needs the public id and the site"):
        facts_from_seal_param(param)
    with pytest.raises(QrError, match="has 11 fields, expected 9"):
        facts_from_seal_param(f"{param}~{PUBLIC_ID}~x", public_id=PUBLIC_ID, site=BASE_URL)
    with pytest.raises(QrError, match="trailing slash"):
        facts_from_seal_param(param, public_id=PUBLIC_ID, site=BASE_URL + "/")
    assert facts_from_seal_param(seal_param(KW1_FACTS), public_id=PUBLIC_ID, site=BASE_URL) == KW1_FACTS


@pytest.mark.parametrize(
    "site", ["https://khutwa.example.bh", "https://khutwa.mosd.gov.bh/documents", "http://127.0.0.1:8000"]
)
def test_the_largest_kw2_content_still_fits_version_14(site: str) -> None:
    facts = Facts(
        type="credit_note",
        number="CRN-2026-999999",
        licence="KH-2026-999999",
        date="2026-12-31",
        total="9999999.999",
        vat="999999.999",
        hash="f" * 64,
        kid=KID,
        public_id=PUBLIC_ID,
        site=site,
    )
    content = qr_content(site, PUBLIC_ID, facts, sign_seal(facts, KEY))
    assert qr_version(content) <= 14
