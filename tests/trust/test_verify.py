"""Offline verification: documents and QR content, and tampering with any part of them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khutwa.trust.qr import qr_content
from khutwa.trust.seal import FACT_PAYLOAD_PATHS, FACT_PAYLOAD_PATHS_KW2, key_id, seal_payload, seal_version
from khutwa.trust.verify import REASON_BAD_SIGNATURE, REASON_HASH_DIFFERS, verify_document, verify_qr
from tests.trust.factories import BASE_URL, jwk, jwks, make_payload, signing_key

KEY = signing_key()
KID = key_id(KEY.public_key())
JWKS = jwks(jwk(KEY))
PAYLOAD = make_payload(lines=3)
FACTS, SIGNATURE = seal_payload(PAYLOAD, KID, KEY)
CONTENT = qr_content(BASE_URL, PAYLOAD["public_id"], FACTS, SIGNATURE)

printable = st.characters(min_codepoint=32, max_codepoint=126)


def test_a_document_verifies() -> None:
    result = verify_document(PAYLOAD, SIGNATURE, KID, JWKS)
    assert result.valid and result.reasons == [] and result.facts == FACTS and result.key_status == "active"
    assert verify_document(PAYLOAD, SIGNATURE, KID, JWKS, sealed_hash=FACTS.hash).valid


def test_qr_content_alone_verifies() -> None:
    result = verify_qr(CONTENT, JWKS)
    assert result.valid and result.facts == FACTS and result.key_status == "active"
    assert verify_qr(CONTENT, JWKS, expected_base_url=BASE_URL + "/", payload=PAYLOAD).valid


def test_unknown_key_id() -> None:
    result = verify_document(PAYLOAD, SIGNATURE, KID, jwks(jwk(signing_key("other"))))
    assert not result.valid and result.reasons == [f"unknown key id {KID!r}"] and result.key_status is None
    result = verify_document(PAYLOAD, SIGNATURE, "AAAAAAAAAAAAAAAA", JWKS)
    assert result.reasons == ["unknown key id 'AAAAAAAAAAAAAAAA'"]


def test_a_payload_outside_the_canonical_subset_is_reported() -> None:
    payload = copy.deepcopy(PAYLOAD)
    payload["lines"][1]["quantity"] = 2.0
    result = verify_document(payload, SIGNATURE, KID, JWKS)
    assert not result.valid
    assert result.reasons == [
        "the payload cannot be canonicalised: $.lines[1].quantity: floats are not allowed; "
        "write amounts as strings with 3 decimals, e.g. '12.345'"
    ]
    assert verify_document([], SIGNATURE, KID, JWKS).reasons == ["the payload is not a JSON object"]  # type: ignore[arg-type]


def test_malformed_qr_content() -> None:
    result = verify_qr("https://khutwa.example.bh/verify/nope", JWKS)
    assert not result.valid and result.facts is None
    assert result.reasons == [
        "malformed QR content: expected <site>/verify/<public id>?s=<seal>&g=<signature>"
    ]


def test_a_genuine_qr_on_another_document_is_caught_with_the_payload() -> None:
    other = make_payload(counter=46, lines=3)
    result = verify_qr(CONTENT, JWKS, payload=other)
    assert not result.valid
    assert result.reasons == [
        f"the QR's public id {PAYLOAD['public_id']} is not the document's ({other['public_id']})",
        REASON_HASH_DIFFERS,
        "the sealed number 'INV-2026-000045' is not the document's",
    ]


def test_a_qr_pointing_elsewhere_is_caught_with_the_official_site() -> None:
    forged = CONTENT.replace(BASE_URL, "https://khutwa-example.bh")
    assert verify_qr(forged, JWKS).valid  # the site is not signed...
    result = verify_qr(forged, JWKS, expected_base_url=BASE_URL)  # ...but known to a verifier
    assert result.reasons == [f"the QR does not point to the official site {BASE_URL}"]


@settings(max_examples=400)
@given(st.data())
def test_any_changed_character_of_the_qr_content_is_detected(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(CONTENT) - 1), label="position")
    replacement = data.draw(printable.filter(lambda c: c != CONTENT[position]), label="replacement")
    tampered = CONTENT[:position] + replacement + CONTENT[position + 1 :]
    _check_tampered_qr(tampered, position)


@settings(max_examples=100)
@given(st.data())
def test_a_deleted_character_of_the_qr_content_is_detected(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(CONTENT) - 1), label="position")
    _check_tampered_qr(CONTENT[:position] + CONTENT[position + 1 :], position)


def _check_tampered_qr(tampered: str, position: int) -> None:
    full = verify_qr(tampered, JWKS, expected_base_url=BASE_URL, payload=PAYLOAD)
    assert not full.valid, tampered
    seal_start = CONTENT.index("?s=") + 3
    signature_start = CONTENT.index("&g=") + 3
    kid_start = CONTENT.index("&g=") - len(KID)
    malformed = [r for r in full.reasons if r.startswith("malformed QR content: ")]
    if position < CONTENT.index("/verify/"):
        assert malformed or full.reasons == [f"the QR does not point to the official site {BASE_URL}"]
        return
    if position < seal_start - 3:
        assert malformed or full.reasons[0].startswith("the QR's public id "), full.reasons
        return
    # the seal and the signature are covered by the signature: the QR alone detects them
    alone = verify_qr(tampered, JWKS)
    assert not alone.valid
    if malformed:
        assert alone.reasons == malformed and len(malformed) == 1
    elif kid_start <= position < signature_start - 3:
        assert alone.reasons == [f"unknown key id {alone.facts.kid!r}"]  # type: ignore[union-attr]
    else:
        assert alone.reasons == [REASON_BAD_SIGNATURE], alone.reasons


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [leaf for key in value for leaf in _leaves(value[key], (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [path]


PAYLOAD_V2 = make_payload(lines=3, v=2)
FACTS_V2, SIGNATURE_V2 = seal_payload(PAYLOAD_V2, KID, KEY)
CONTENT_V2 = qr_content(BASE_URL, PAYLOAD_V2["public_id"], FACTS_V2, SIGNATURE_V2)
SEALED = {  # payload version → (payload, facts, signature, QR content, fact paths, its leaves)
    1: (PAYLOAD, FACTS, SIGNATURE, CONTENT, set(FACT_PAYLOAD_PATHS.values()), _leaves(PAYLOAD)),
    2: (
        PAYLOAD_V2,
        FACTS_V2,
        SIGNATURE_V2,
        CONTENT_V2,
        set(FACT_PAYLOAD_PATHS_KW2.values()),
        _leaves(PAYLOAD_V2),
    ),
}


def _tamper(payload: dict[str, Any], path: tuple[Any, ...], data: st.DataObject) -> None:
    parent: Any = payload
    for part in path[:-1]:
        parent = parent[part]
    value = parent[path[-1]]
    if isinstance(value, bool):
        parent[path[-1]] = not value
    elif isinstance(value, int):
        parent[path[-1]] = value + data.draw(st.sampled_from([-1, 1]), label="delta")
    elif value is None:
        parent[path[-1]] = ""
    else:
        assert isinstance(value, str)
        if value == "":
            parent[path[-1]] = data.draw(printable, label="inserted")
            return
        position = data.draw(st.integers(0, len(value) - 1), label="position")
        replacement = data.draw(printable.filter(lambda c: c != value[position]), label="replacement")
        parent[path[-1]] = value[:position] + replacement + value[position + 1 :]


@pytest.mark.parametrize("v", [1, 2])
@settings(max_examples=300)
@given(data=st.data())
def test_any_changed_payload_field_is_detected(v: int, data: st.DataObject) -> None:
    payload, facts, signature, content, fact_paths, leaves = SEALED[v]
    path = data.draw(st.sampled_from(leaves), label="field")
    tampered = copy.deepcopy(payload)
    _tamper(tampered, path, data)
    dotted = ".".join(str(part) for part in path)
    # "v" chooses the seal version: a fact too when it crosses from 1 to 2 or back
    is_fact = dotted in fact_paths or (dotted == "v" and seal_version(tampered) != facts.version)

    result = verify_document(tampered, signature, KID, JWKS)
    assert not result.valid
    invalid_fact = result.reasons[0].startswith("the payload's facts are invalid: ")
    assert result.reasons == [REASON_BAD_SIGNATURE] or (is_fact and invalid_fact and len(result.reasons) == 1)

    with_hash = verify_document(tampered, signature, KID, JWKS, sealed_hash=facts.hash)
    assert not with_hash.valid
    if invalid_fact:
        assert with_hash.reasons == result.reasons
    elif is_fact:  # the sealed facts changed as well as the hash
        assert with_hash.reasons == [REASON_HASH_DIFFERS, REASON_BAD_SIGNATURE]
    else:  # the seal is genuine: only the payload was altered
        assert with_hash.reasons == [REASON_HASH_DIFFERS]

    with_qr = verify_qr(content, JWKS, payload=tampered)
    assert not with_qr.valid
    assert REASON_HASH_DIFFERS in with_qr.reasons or with_qr.reasons[-1].startswith(
        ("the payload's facts are invalid: ", "the QR's public id ")
    )


def test_a_signature_of_another_document_does_not_verify() -> None:
    other = make_payload(counter=46, lines=3)
    _, other_signature = seal_payload(other, KID, KEY)
    assert verify_document(PAYLOAD, other_signature, KID, JWKS).reasons == [REASON_BAD_SIGNATURE]


def test_a_signature_by_another_key_under_this_kid_does_not_verify() -> None:
    other_key = signing_key("impostor")
    _, forged = seal_payload(PAYLOAD, key_id(other_key.public_key()), other_key)
    assert verify_document(PAYLOAD, forged, KID, JWKS).reasons == [REASON_BAD_SIGNATURE]
