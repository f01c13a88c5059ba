"""canonical_json is RFC 8785 for Khutwa's payload subset, and refuses everything else."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from khutwa.trust.canonical import (
    MAX_SAFE_INTEGER,
    PayloadError,
    b64url_decode,
    b64url_encode,
    canonical_json,
    check_payload,
    sha256_hex,
)
from tests.trust.factories import make_payload

# Keys: any ASCII, control characters included; strings: any Unicode scalar value (no lone
# surrogates), so escapes (\u001f, \n, \", \\), U+2028, DEL, Arabic and astral characters occur.
ascii_keys = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=12)
texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=24)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.sampled_from([0, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 10**15])
    | texts
)
payloads = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(ascii_keys, children, max_size=8),
    max_leaves=60,
)


@settings(max_examples=500)
@given(payloads)
def test_canonical_json_is_rfc8785(payload: Any) -> None:
    assert canonical_json(payload) == rfc8785.dumps(payload)


@settings(max_examples=200)
@given(payloads)
def test_canonical_json_round_trips(payload: Any) -> None:
    """What is stored (a JSON column) and read back canonicalises to the same bytes."""
    encoded = canonical_json(payload)
    assert json.loads(encoded) == payload
    assert canonical_json(json.loads(encoded)) == encoded


def test_realistic_payload_is_rfc8785() -> None:
    payload = make_payload(vat_registered=True)
    assert canonical_json(payload) == rfc8785.dumps(payload)


def test_keys_are_sorted_and_compact() -> None:
    assert (
        canonical_json({"b": 1, "a": [True, None, "x"], "A": "é"})
        == '{"A":"é","a":[true,null,"x"],"b":1}'.encode()
    )


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        ({"total": 12.345}, "$.total", "floats are not allowed"),
        ({"lines": [{"x": 1}, {"unit_price": 1.5}]}, "$.lines[1].unit_price", "floats are not allowed"),
        ({"lines": [{"unit_price": Decimal("1.500")}]}, "$.lines[0].unit_price", "Decimal is not allowed"),
        ({"customer": {"اسم": "x"}}, "$.customer", "is not ASCII"),
        ({"a": {1: "x"}}, "$.a", "is not a string"),
        ({"n": 2**53}, "$.n", "integer out of range"),
        ({"n": -(2**53)}, "$.n", "integer out of range"),
        ({"refs": ("a", "b")}, "$.refs", "type tuple is not allowed"),
        ({"s": {"a"}}, "$.s", "type set is not allowed"),
        ({"deep": [[{"x": "\ud800"}]]}, "$.deep[0][0].x", "lone surrogate"),
        (1.0, "$", "floats are not allowed"),
    ],
)
def test_refused_values_are_named_by_path(payload: Any, path: str, words: str) -> None:
    with pytest.raises(PayloadError) as caught:
        check_payload(payload)
    assert caught.value.path == path
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")
    with pytest.raises(ValueError, match=words):  # PayloadError is a ValueError
        canonical_json(payload)


def test_integer_bounds_are_inclusive_of_max_safe_integer() -> None:
    assert canonical_json([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == b"[9007199254740991,-9007199254740991]"


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_b64url_is_strict() -> None:
    data = bytes(range(32))
    text = b64url_encode(data)
    assert "=" not in text and len(text) == 43
    assert b64url_decode(text, 32) == data
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    non_canonical = text[:-1] + alphabet[alphabet.index(text[-1]) + 1]  # a spare bit set
    for bad in (text + "=", non_canonical, text.replace("A", "+"), text[:-1], "abcde", text + "AAAA"):
        with pytest.raises(ValueError):
            b64url_decode(bad, 32)


def test_str_and_int_enum_members_serialise_as_their_values() -> None:
    """Django's TextChoices members are str subclasses: accepted, written as their value."""
    import enum

    class Kind(enum.StrEnum):
        INVOICE = "invoice"

    class Level(enum.IntEnum):
        ONE = 1

    payload = {"type": Kind.INVOICE, "n": Level.ONE, "lines": [{"type": Kind.INVOICE}]}
    assert (
        canonical_json(payload)
        == rfc8785.dumps(payload)
        == b'{"lines":[{"type":"invoice"}],"n":1,"type":"invoice"}'
    )
