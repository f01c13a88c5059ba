"""A licence's chain of documents: gaps, duplicates, insertions, alterations, reordering."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from khutwa.trust.canonical import canonical_json, sha256_hex
from khutwa.trust.verify import GENESIS_HASH, chain_verify
from tests.trust.factories import LICENCE, make_chain, make_payload, relink

CHAIN = make_chain(8)
LINK_BROKEN = "previous_hash is not the SHA-256 of document"


def test_an_intact_chain_has_no_problems() -> None:
    assert chain_verify(CHAIN) == []
    assert chain_verify(CHAIN, expected_last=8) == []
    assert chain_verify(CHAIN[:1]) == []
    assert chain_verify([]) == []
    assert CHAIN[0]["chain"]["previous_hash"] == GENESIS_HASH == "0" * 64
    assert CHAIN[3]["chain"]["previous_hash"] == sha256_hex(canonical_json(CHAIN[2]))


def test_a_dropped_document_is_a_gap() -> None:
    assert chain_verify(CHAIN[:3] + CHAIN[4:]) == ["counter 4 is missing (a gap after counter 3)"]
    assert chain_verify(CHAIN[:2] + CHAIN[5:]) == ["counters 3 to 5 are missing (a gap after counter 2)"]


def test_a_dropped_first_document() -> None:
    assert chain_verify(CHAIN[1:]) == ["the chain starts at counter 2, not 1"]


def test_a_dropped_last_document_needs_the_expected_last_counter() -> None:
    assert chain_verify(CHAIN[:-1]) == []  # a chain cannot see its own truncation
    assert chain_verify(CHAIN[:-1], expected_last=8) == [
        "the chain ends at counter 7, but the licence's last counter is 8"
    ]
    assert chain_verify([], expected_last=8) == ["the chain is empty but its last counter should be 8"]


def test_a_duplicated_counter() -> None:
    forged = copy.deepcopy(CHAIN[3])
    forged["total"] = "0.001"
    problems = chain_verify([*CHAIN[:4], forged, *CHAIN[4:]])
    assert problems == ["counter 4 appears 2 times"]


def test_an_inserted_document_breaks_the_next_link() -> None:
    forged = make_payload(counter=4, previous_hash=sha256_hex(canonical_json(CHAIN[2])), lines=1)
    shifted = copy.deepcopy(CHAIN[3:])
    for payload in shifted:
        payload["chain"]["counter"] += 1
    problems = chain_verify([*CHAIN[:3], forged, *shifted])
    assert problems == [
        f"document 5 (counter 5): {LINK_BROKEN} 4 (an inserted, altered or reordered document)",
        f"document 6 (counter 6): {LINK_BROKEN} 5 (an inserted, altered or reordered document)",
        f"document 7 (counter 7): {LINK_BROKEN} 6 (an inserted, altered or reordered document)",
        f"document 8 (counter 8): {LINK_BROKEN} 7 (an inserted, altered or reordered document)",
        f"document 9 (counter 9): {LINK_BROKEN} 8 (an inserted, altered or reordered document)",
    ]


def test_an_altered_document_breaks_the_next_link() -> None:
    altered = copy.deepcopy(CHAIN)
    altered[4]["lines"][0]["description"] += "."
    assert chain_verify(altered) == [
        f"document 6 (counter 6): {LINK_BROKEN} 5 (an inserted, altered or reordered document)"
    ]


def test_swapped_documents() -> None:
    swapped = [*CHAIN[:2], CHAIN[3], CHAIN[2], *CHAIN[4:]]
    assert chain_verify(swapped) == ["the documents are not in counter order: counter 3 comes after 4"]
    # Their counters exchanged too (so the list is sorted again): the links break.
    renumbered = copy.deepcopy(swapped)
    renumbered[2]["chain"]["counter"], renumbered[3]["chain"]["counter"] = 3, 4
    problems = chain_verify(renumbered)
    assert problems and all(LINK_BROKEN in problem for problem in problems)
    assert len(problems) == 3


def test_the_first_document_links_to_the_genesis_hash() -> None:
    wrong = copy.deepcopy(CHAIN)
    wrong[0]["chain"]["previous_hash"] = None
    assert f"document 1 (counter 1) must have previous_hash {GENESIS_HASH}" in chain_verify(wrong)


def test_documents_of_other_licences_and_malformed_chains() -> None:
    other = make_chain(3, licence="KH-2026-000999")
    problems = chain_verify(CHAIN[:2] + other[2:])
    assert "the documents belong to more than one licence: KH-2026-000166, KH-2026-000999" in problems
    mismatched = copy.deepcopy(CHAIN[:2])
    mismatched[1]["issuer"]["licence"] = "KH-2026-000999"
    assert (
        f"document 2 (counter 2) is chained to licence {LICENCE} but issued by KH-2026-000999"
        in chain_verify(mismatched)
    )
    no_chain = copy.deepcopy(CHAIN[:2])
    del no_chain[1]["chain"]
    assert chain_verify(no_chain) == ["document 2 has no chain member"]
    bad_counter = copy.deepcopy(CHAIN[:2])
    bad_counter[1]["chain"]["counter"] = "2"
    assert chain_verify(bad_counter) == ["document 2 has an invalid chain counter '2'"]


operations = st.sampled_from(["drop", "duplicate", "swap", "alter", "insert", "reorder", "drop_first"])


@settings(max_examples=200)
@given(n=st.integers(3, 8), operation=operations, data=st.data())
def test_any_single_change_of_a_chain_is_reported(n: int, operation: str, data: st.DataObject) -> None:
    chain = CHAIN[:n]
    # a position that has a successor (the last document's content is covered by its signature)
    i = data.draw(st.integers(0, n - 2), label="position")
    if operation == "drop":
        changed = chain[:i] + chain[i + 1 :]
    elif operation == "drop_first":
        changed = chain[1:]
    elif operation == "duplicate":
        changed = [*chain[: i + 1], chain[i], *chain[i + 1 :]]
    elif operation == "reorder":
        changed = [*chain[:i], chain[i + 1], chain[i], *chain[i + 2 :]]
    elif operation == "swap":  # contents exchanged, counters left in order
        changed = copy.deepcopy(chain)
        changed[i], changed[i + 1] = changed[i + 1], changed[i]
        changed[i]["chain"]["counter"], changed[i + 1]["chain"]["counter"] = i + 1, i + 2
    elif operation == "alter":
        changed = copy.deepcopy(chain)
        changed[i]["subtotal"] = "0.000"
    else:  # insert a forged document, relinked, and renumber those after it
        forged = make_payload(counter=i + 2, lines=1)
        after = copy.deepcopy(chain[i + 1 :])
        for payload in after:
            payload["chain"]["counter"] += 1
        changed = [*chain[: i + 1], forged, *after]
        changed[i + 1] = relink(changed[: i + 2])[i + 1]  # the forger links it correctly
    assert chain_verify(changed) != []
