"""The seal: its text, its parsing, its Ed25519 signature and its verification."""

from __future__ import annotations

import dataclasses
import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khutwa.trust.canonical import b64url_decode, b64url_encode, canonical_json, sha256_hex
from khutwa.trust.seal import (
    REASON_BAD_SIGNATURE,
    TYPE_CODES,
    Facts,
    SealError,
    facts_from_payload,
    key_id,
    parse_seal,
    seal_head,
    seal_payload,
    seal_string,
    seal_version,
    sign_seal,
    verify_seal,
)
from tests.trust.factories import BASE_URL, jwk, jwks, make_payload, signing_key

KEY = signing_key()
KID = key_id(KEY.public_key())
JWKS = jwks(jwk(KEY))
HASH = hashlib.sha256(b"payload").hexdigest()
PUBLIC_ID = "3f2b8c1e-9d4a-4e7b-8a61-2c5d9e0f7a13"
SITE = BASE_URL


def facts(**changes: str | None) -> Facts:
    values = {
        "type": "invoice",
        "number": "INV-2026-000045",
        "licence": "KH-2026-000166",
        "date": "2026-11-27",
        "total": "12.345",
        "vat": "0.000",
        "hash": HASH,
        "kid": KID,
    }
    return Facts(**{**values, **changes})


def test_seal_string_is_the_documented_text() -> None:
    hash_b64 = b64url_encode(bytes.fromhex(HASH))
    assert len(hash_b64) == 43
    assert seal_string(facts()) == (
        f"KW1|INV|INV-2026-000045|KH-2026-000166|2026-11-27|12.345|0.000|{hash_b64}|{KID}"
    )


def test_type_codes() -> None:
    assert TYPE_CODES == {
        "quotation": "QUO",
        "invoice": "INV",
        "credit_note": "CRN",
        "delivery_note": "DLV",
        "receipt": "RCT",
        "statement": "STM",
    }
    for name, code in TYPE_CODES.items():
        assert seal_string(facts(type=name)).split("|")[1] == code


identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,31}", fullmatch=True)
amounts = st.from_regex(r"-?(0|[1-9][0-9]{0,12})\.[0-9]{3}", fullmatch=True).filter(lambda a: a != "-0.000")
facts_strategy = st.builds(
    Facts,
    type=st.sampled_from(list(TYPE_CODES)),
    number=identifiers,
    licence=identifiers,
    date=st.dates().map(lambda d: d.isoformat()).filter(lambda d: len(d) == 10),
    total=amounts,
    vat=amounts,
    hash=st.binary(min_size=32, max_size=32).map(bytes.hex),
    kid=st.from_regex(r"[A-Za-z0-9_-]{1,43}", fullmatch=True),
)


@settings(max_examples=300)
@given(facts_strategy)
def test_parse_seal_inverts_seal_string(sealed: Facts) -> None:
    text = seal_string(sealed)
    assert text.isascii() and text.count("|") == 8
    assert parse_seal(text) == sealed


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("number", "INV|2026", "contains '|'"),
        ("licence", "KH 2026", "1-32 characters"),
        ("number", "", "1-32 characters"),
        ("number", "INV~1", "1-32 characters"),
        ("type", "bill", "is not one of"),
        ("date", "2026-02-30", "is not an ISO date"),
        ("date", "20261127", "is not an ISO date"),
        ("total", "12.3", "exactly 3 decimals"),
        ("total", "012.345", "no leading zeros"),
        ("total", "-0.000", "exactly 3 decimals"),
        ("vat", "1,000.000", "exactly 3 decimals"),
        ("hash", HASH.upper(), "64 lower-case hexadecimal"),
        ("kid", "kid|x", "contains '|'"),
    ],
)
def test_facts_refuse_malformed_fields(field: str, value: str, words: str) -> None:
    with pytest.raises(SealError, match=words):
        facts(**{field: value})


def test_facts_refuse_non_strings() -> None:
    with pytest.raises(SealError, match="total must be a string"):
        Facts(**{**dataclasses.asdict(facts()), "total": 12.345})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("KW3|INV|A|B|2026-11-27|1.000|0.000|x|k", "unsupported seal version"),
        ("kw1|INV|A|B|2026-11-27|1.000|0.000|x|k", "unsupported seal version"),
        ("KW1|INV|A|B|2026-11-27|1.000|0.000|k", "9"),
        ("KW2|INV|A|B|2026-11-27|1.000|0.000|" + "A" * 43 + "|k", "the KW2 seal has 9 fields, expected 11"),
        ("KW1|INV|A|B|2026-11-27|1.000|0.000|" + "A" * 43 + "|k|" + PUBLIC_ID + "|" + SITE, "expected 9"),
        ("KW1|XXX|A|B|2026-11-27|1.000|0.000|" + "A" * 43 + "|k", "unknown document type code"),
        ("KW1|INV|A|B|2026-11-27|1.000|0.000|" + "A" * 42 + "|k", "hash"),
        ("KW1|INV|A|B|2026-11-27|1.000|0.000|" + "A" * 42 + "B|k", "hash: not the canonical"),
    ],
)
def test_parse_seal_refuses(text: str, words: str) -> None:
    with pytest.raises(SealError, match=words):
        parse_seal(text)


def test_key_id_is_sha256_of_the_raw_public_key() -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert b64url_encode(hashlib.sha256(raw).digest())[:16] == KID
    assert len(KID) == 16


def test_sign_and_verify() -> None:
    sealed = facts()
    signature = sign_seal(sealed, KEY)
    assert len(signature) == 86 and "=" not in signature
    KEY.public_key().verify(b64url_decode(signature), seal_string(sealed).encode())
    result = verify_seal(sealed, signature, JWKS)
    assert result.valid and result.reasons == [] and result.facts == sealed and result.key_status == "active"


def test_sign_refuses_a_kid_that_is_not_the_keys() -> None:
    with pytest.raises(SealError, match="is not the id of the signing key"):
        sign_seal(facts(kid="AAAAAAAAAAAAAAAA"), KEY)


field_changes = {
    "type": "receipt",
    "number": "INV-2026-000046",
    "licence": "KH-2026-000167",
    "date": "2026-11-28",
    "total": "12.346",
    "vat": "1.235",
    "hash": hashlib.sha256(b"other").hexdigest(),
}


@pytest.mark.parametrize(("field", "value"), field_changes.items())
def test_any_changed_fact_breaks_the_signature(field: str, value: str) -> None:
    signature = sign_seal(facts(), KEY)
    result = verify_seal(facts(**{field: value}), signature, JWKS)
    assert not result.valid
    assert result.reasons == [REASON_BAD_SIGNATURE]


def test_unknown_key_and_malformed_signature() -> None:
    signature = sign_seal(facts(), KEY)
    other = signing_key("another key")
    result = verify_seal(facts(), signature, jwks(jwk(other)))
    assert not result.valid and result.reasons == [f"unknown key id {KID!r}"]
    result = verify_seal(facts(), signature[:-2], JWKS)
    assert not result.valid and result.reasons[0].startswith("malformed signature:")


def test_a_key_of_another_kind_or_with_a_wrong_x_is_refused() -> None:
    signature = sign_seal(facts(), KEY)
    assert verify_seal(facts(), signature, jwks(jwk(KEY, kty="EC"))).reasons == [
        f"key id {KID!r} is not an Ed25519 key"
    ]
    other_x = jwk(signing_key("another key"))["x"]
    assert verify_seal(facts(), signature, jwks(jwk(KEY, x=other_x))).reasons == [
        f"key id {KID!r} is not the id of its public key"
    ]
    assert verify_seal(facts(), signature, {"nope": []}).reasons == ["the JWKS has no 'keys' list"]


def test_a_retired_key_still_verifies_documents_dated_before_its_retirement() -> None:
    signature = sign_seal(facts(date="2026-11-27"), KEY)
    retired = jwks(jwk(KEY, status="retired", retired="2026-11-27T20:59:00Z"))  # 23:59 in Bahrain
    result = verify_seal(facts(date="2026-11-27"), signature, retired)
    assert result.valid and result.key_status == "retired"


def test_a_retired_key_does_not_seal_documents_dated_after_its_retirement() -> None:
    later = facts(date="2026-11-28")
    signature = sign_seal(later, KEY)
    retired = jwks(jwk(KEY, status="retired", retired="2026-11-27T21:00:00Z"))  # 00:00 on the 28th
    assert verify_seal(later, signature, retired).valid  # the 28th in Bahrain: same day
    retired = jwks(jwk(KEY, status="retired", retired="2026-11-27T20:59:59Z"))  # 23:59:59 on the 27th
    result = verify_seal(later, signature, retired)
    assert not result.valid
    assert result.reasons == [
        f"key id {KID!r} was retired on 2026-11-27, before the document's date 2026-11-28"
    ]


def test_a_revoked_key_does_not_verify() -> None:
    signature = sign_seal(facts(), KEY)
    result = verify_seal(facts(), signature, jwks(jwk(KEY, status="revoked")))
    assert not result.valid and result.reasons == [f"key id {KID!r} is 'revoked', not active or retired"]


def test_facts_from_payload_and_seal_payload() -> None:
    payload = make_payload()
    sealed, signature = seal_payload(payload, KID, KEY)
    assert sealed == facts_from_payload(payload, KID)
    assert sealed.hash == sha256_hex(canonical_json(payload))
    assert (sealed.type, sealed.number, sealed.licence, sealed.date, sealed.total, sealed.vat) == (
        payload["type"],
        payload["number"],
        payload["issuer"]["licence"],
        payload["issue_date"],
        payload["total"],
        payload["vat"],
    )
    assert verify_seal(sealed, signature, JWKS).valid


def test_facts_from_payload_names_a_missing_field() -> None:
    payload = make_payload()
    del payload["issuer"]["licence"]
    with pytest.raises(SealError, match=r"the payload has no issuer\.licence"):
        facts_from_payload(payload, KID)


@settings(max_examples=200)
@given(st.data())
def test_any_changed_character_of_the_seal_text_is_detected(data: st.DataObject) -> None:
    sealed = facts()
    signature = sign_seal(sealed, KEY)
    text = seal_string(sealed)
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    replacement = data.draw(
        st.characters(min_codepoint=32, max_codepoint=126).filter(lambda c: c != text[position]),
        label="replacement",
    )
    tampered = text[:position] + replacement + text[position + 1 :]
    try:
        claimed = parse_seal(tampered)
    except SealError:
        return  # refused as malformed
    result = verify_seal(claimed, signature, JWKS)
    assert not result.valid
    kid_start = len(text) - len(KID)
    expected = f"unknown key id {claimed.kid!r}" if position >= kid_start else REASON_BAD_SIGNATURE
    assert result.reasons == [expected]


@settings(max_examples=200)
@given(st.data())
def test_any_changed_character_of_the_signature_is_detected(data: st.DataObject) -> None:
    signature = sign_seal(facts(), KEY)
    position = data.draw(st.integers(0, len(signature) - 1), label="position")
    replacement = data.draw(
        st.characters(min_codepoint=32, max_codepoint=126).filter(lambda c: c != signature[position]),
        label="replacement",
    )
    result = verify_seal(facts(), signature[:position] + replacement + signature[position + 1 :], JWKS)
    assert not result.valid
    assert len(result.reasons) == 1
    assert result.reasons[0] == REASON_BAD_SIGNATURE or result.reasons[0].startswith("malformed signature:")


def test_a_jwk_with_a_malformed_x_is_refused() -> None:
    signature = sign_seal(facts(), KEY)
    for x in (["not", "a", "string"], "short", None):
        assert verify_seal(facts(), signature, jwks(jwk(KEY, x=x))).reasons == [
            f"key id {KID!r} has a malformed public key"
        ]


def test_a_malformed_retirement_time_is_refused() -> None:
    signature = sign_seal(facts(), KEY)
    for retired in ("yesterday", "2026-11-27T20:59:00", 1764273540):
        result = verify_seal(facts(), signature, jwks(jwk(KEY, status="retired", retired=retired)))
        assert result.reasons == [f"key id {KID!r} has a malformed retirement time"]


# --- KW2: the public id and the site are sealed too (payload "v": 2 and later) ---------------


def kw2(**changes: str | None) -> Facts:
    return facts(**{"public_id": PUBLIC_ID, "site": SITE, **changes})


def test_kw2_seal_string_is_the_documented_text() -> None:
    hash_b64 = b64url_encode(bytes.fromhex(HASH))
    sealed = kw2()
    assert sealed.version == "KW2" and facts().version == "KW1"
    assert seal_string(sealed) == (
        f"KW2|INV|INV-2026-000045|KH-2026-000166|2026-11-27|12.345|0.000|{hash_b64}|{KID}"
        f"|{PUBLIC_ID}|https://khutwa.example.bh"
    )
    assert seal_head(sealed) == seal_string(sealed).rsplit("|", 2)[0]
    assert seal_head(facts()) == seal_string(facts())
    assert parse_seal(seal_string(sealed)) == sealed


sites = st.from_regex(
    r"https?://[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?(:[1-9][0-9]{0,4})?(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,8}){0,3}",
    fullmatch=True,
)


@settings(max_examples=300)
@given(facts_strategy, st.uuids().map(str), sites)
def test_parse_seal_inverts_seal_string_for_kw2(sealed: Facts, public_id: str, site: str) -> None:
    sealed = dataclasses.replace(sealed, public_id=public_id, site=site)
    text = seal_string(sealed)
    assert text.isascii() and text.count("|") == 10 and text.startswith("KW2|")
    assert parse_seal(text) == sealed


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("public_id", PUBLIC_ID.upper(), "lower-case hyphenated UUID"),
        ("public_id", PUBLIC_ID.replace("-", ""), "lower-case hyphenated UUID"),
        ("public_id", "45", "lower-case hyphenated UUID"),
        ("site", SITE + "/", "without a trailing slash"),
        ("site", "https://Khutwa.example.bh", "in lower case"),
        ("site", "HTTPS://khutwa.example.bh", "in lower case"),
        ("site", "ftp://khutwa.example.bh", "http"),
        ("site", "khutwa.example.bh", "http"),
        ("site", "https://khutwa.example.bh:0443", "port"),
        ("site", "https://khutwa.example.bh?x=1", "http"),
        ("site", "https://user@khutwa.example.bh", "http"),
        ("site", "https://khutwa.example.bh//k", "http"),
        ("site", "https://khutwa.example.bh/../k", "http"),
        ("site", "https://khutwa.example.bh/~k", "http"),
        ("site", "https://khutwa.example.bh|x", "contains '|'"),
        ("site", "https://" + "k" * 100 + ".bh", "at most 100 characters"),
    ],
)
def test_kw2_facts_refuse_malformed_fields(field: str, value: str, words: str) -> None:
    with pytest.raises(SealError, match=re.escape(words)):
        kw2(**{field: value})


def test_kw2_facts_accept_a_port_and_a_path_prefix() -> None:
    for site in ("http://127.0.0.1:8000", "https://www.bahrain.bh/khutwa", "https://k.example/a/b-c/d_e.f"):
        assert parse_seal(seal_string(kw2(site=site))).site == site


def test_kw2_facts_need_both_the_public_id_and_the_site() -> None:
    with pytest.raises(SealError, match="both the public id and the site"):
        facts(public_id=PUBLIC_ID)
    with pytest.raises(SealError, match="both the public id and the site"):
        facts(site=SITE)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *field_changes.items(),
        ("public_id", "3f2b8c1e-9d4a-4e7b-8a61-2c5d9e0f7a14"),
        ("site", "http://khutwa.example.bh"),
        ("site", "https://khutwa.example.bh/x"),
        ("site", "https://khutwa.example.bh:8443"),
    ],
)
def test_any_changed_kw2_fact_breaks_the_signature(field: str, value: str) -> None:
    signature = sign_seal(kw2(), KEY)
    assert verify_seal(kw2(), signature, JWKS).valid
    result = verify_seal(kw2(**{field: value}), signature, JWKS)
    assert result.reasons == [REASON_BAD_SIGNATURE]


def test_a_kw1_signature_does_not_verify_kw2_facts_nor_the_reverse() -> None:
    """The version is signed: a KW2 seal cannot be passed off as KW1 (its site unsigned)."""
    assert verify_seal(kw2(), sign_seal(facts(), KEY), JWKS).reasons == [REASON_BAD_SIGNATURE]
    assert verify_seal(facts(), sign_seal(kw2(), KEY), JWKS).reasons == [REASON_BAD_SIGNATURE]


def test_facts_from_payload_reads_the_seal_version_from_v() -> None:
    v1 = make_payload()
    v2 = make_payload(v=2, public_id=PUBLIC_ID)
    assert seal_version(v1) == "KW1" and seal_version({}) == "KW1"
    assert seal_version(v2) == "KW2" and seal_version({"v": 3}) == "KW2"
    assert facts_from_payload(v1, KID).site is None
    sealed, signature = seal_payload(v2, KID, KEY)
    assert sealed == facts_from_payload(v2, KID)
    assert (sealed.version, sealed.public_id, sealed.site) == ("KW2", PUBLIC_ID, v2["site"])
    assert sealed.hash == sha256_hex(canonical_json(v2))
    assert verify_seal(sealed, signature, JWKS).valid
    for v in ("2", 2.0, True, None):
        with pytest.raises(SealError, match="is not an integer"):
            facts_from_payload({**v2, "v": v}, KID)


def test_facts_from_a_v2_payload_name_a_missing_or_malformed_site() -> None:
    payload = make_payload(v=2)
    del payload["site"]
    with pytest.raises(SealError, match="the payload has no site"):
        facts_from_payload(payload, KID)
    with pytest.raises(SealError, match="without a trailing slash"):
        facts_from_payload(make_payload(v=2, site=SITE + "/"), KID)
