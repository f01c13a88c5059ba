"""`ubl.invoice_check` (what issuing runs before numbering an invoice or credit note) refuses
exactly what `ubl.invoice_xml` refuses, without building the XML: the payload checks, and any
text lxml would not write. Nothing that the XML refused is accepted now (issue 13)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khutwa.documents.models import Document, DocumentCounter
from khutwa.documents.ubl import invoice_check, invoice_xml
from tests.documents import payloads as P
from tests.documents.conftest import line
from tests.documents.test_ubl import ALL, test_inconsistent_payload_raises


def _outcome(fn: Callable[[], object]) -> str:
    try:
        fn()
    except ValueError as exc:
        return type(exc).__name__ if isinstance(exc, UnicodeError) else "ValueError"
    return "ok"


def _same(payload: dict[str, Any]) -> str:
    built = _outcome(lambda: invoice_xml(payload, hash_hex=P.HASH, verify_url=P.VERIFY_URL))
    checked = _outcome(lambda: invoice_check(payload, verify_url=P.VERIFY_URL))
    assert checked == built or (checked == "ValueError" and built == "UnicodeEncodeError"), payload
    return built


def _leaves(value: Any, path: tuple = ()) -> list[tuple]:
    """The path of every string in a payload."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return []


def _set(payload: dict[str, Any], path: tuple, text: str) -> None:
    target: Any = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = target[path[-1]][:3] + text


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
def test_every_valid_payload_passes_both(make: Callable[[], dict[str, Any]]) -> None:
    assert _same(make()) == "ok"


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800"])
def test_a_text_lxml_refuses_is_refused_wherever_the_xml_carries_it(
    make: Callable[[], dict[str, Any]], bad: str
) -> None:
    base = make()
    for path in _leaves(base):
        payload = copy.deepcopy(base)
        _set(payload, path, f"a{bad}b")
        _same(payload)  # each leaf: refused by both when the XML carries it, by neither if not


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(sorted(ALL)),
    spot=st.integers(min_value=0, max_value=10_000),
    text=st.text(st.characters(codec=None, exclude_categories=()), max_size=6),
)
def test_any_text_anywhere_is_refused_by_both_or_neither(which: str, spot: int, text: str) -> None:
    payload = ALL[which]()
    paths = _leaves(payload)
    _set(payload, paths[spot % len(paths)], text)
    _same(payload)


def test_the_payload_checks_are_invoice_xmls(monkeypatch: pytest.MonkeyPatch) -> None:
    """test_ubl's inconsistent payloads, with invoice_check in place of the XML."""
    import tests.documents.test_ubl as ubl_tests

    monkeypatch.setattr(ubl_tests, "_build", lambda p: invoice_check(p, verify_url=P.VERIFY_URL))
    from tests.documents.test_ubl import v1_plain, v2_plain

    for make in (v1_plain, v2_plain):
        test_inconsistent_payload_raises(make, lambda p: p.update(total="999.000"), "total")
        test_inconsistent_payload_raises(make, lambda p: p.update(currency="USD"), "currency")


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\ufffe"])
def test_issuing_an_invoice_the_xml_cannot_carry_is_refused_and_takes_no_number(issue, bad: str) -> None:
    issue("invoice")
    before = list(DocumentCounter.objects.order_by("id").values_list("last", flat=True))
    with pytest.raises(ValueError, match="XML compatible"):
        issue("invoice", lines=[line(description=f"Me{bad}al")])
    assert Document.objects.count() == 1
    assert list(DocumentCounter.objects.order_by("id").values_list("last", flat=True)) == before
