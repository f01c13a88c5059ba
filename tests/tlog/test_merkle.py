"""khutwa.tlog.merkle against a naive reference written straight from RFC 9162 §2.1."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khutwa.tlog import merkle

# --- the reference: the RFC's recursive definitions, word for word -----------------------


def ref_mth(entries: list[bytes]) -> bytes:
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:])).digest()


def ref_path(m: int, entries: list[bytes]) -> list[bytes]:
    n = len(entries)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, entries[:k]), ref_mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), ref_mth(entries[:k])]


def ref_subproof(m: int, entries: list[bytes], whole: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if whole else [ref_mth(entries)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, entries[:k], whole), ref_mth(entries[k:])]
    return [*ref_subproof(m - k, entries[k:], False), ref_mth(entries[:k])]


def ref_consistency(m: int, entries: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(entries)) else ref_subproof(m, entries, True)


ENTRIES = [f"entry {i}\n".encode() for i in range(64)]
LEAVES = [merkle.leaf_hash(e) for e in ENTRIES]


def test_hashing_is_rfc_9162():
    assert merkle.leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert merkle.node_hash(b"L", b"R") == hashlib.sha256(b"\x01LR").digest()
    assert merkle.root_of([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(0, 65))
def test_root_for_every_size_up_to_64(size):
    assert merkle.root_of(LEAVES[:size]) == ref_mth(ENTRIES[:size])


@pytest.mark.parametrize("size", range(1, 65))
def test_inclusion_for_every_index_of_every_size_up_to_64(size):
    root = ref_mth(ENTRIES[:size])
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, LEAVES)
        assert proof == ref_path(index, ENTRIES[:size])
        assert merkle.verify_inclusion(
            leaf_hash=LEAVES[index], index=index, size=size, proof=proof, root=root
        )
        # another leaf, index, size or root is refused; so is a proof with a hash changed
        assert not merkle.verify_inclusion(
            leaf_hash=merkle.leaf_hash(b"forged"), index=index, size=size, proof=proof, root=root
        )
        if size > 1:
            assert not merkle.verify_inclusion(
                leaf_hash=LEAVES[index], index=(index + 1) % size, size=size, proof=proof, root=root
            )
            bad = list(proof)
            bad[len(bad) // 2] = hashlib.sha256(bad[len(bad) // 2]).digest()
            assert not merkle.verify_inclusion(
                leaf_hash=LEAVES[index], index=index, size=size, proof=bad, root=root
            )
            assert not merkle.verify_inclusion(
                leaf_hash=LEAVES[index], index=index, size=size, proof=proof[:-1], root=root
            )
        assert not merkle.verify_inclusion(
            leaf_hash=LEAVES[index], index=index, size=size, proof=[*proof, root], root=root
        )
        assert not merkle.verify_inclusion(
            leaf_hash=LEAVES[index], index=size, size=size, proof=proof, root=root
        )


@pytest.mark.parametrize("size2", range(1, 65))
def test_consistency_for_every_pair_up_to_64(size2):
    root2 = ref_mth(ENTRIES[:size2])
    for size1 in range(0, size2 + 1):
        root1 = ref_mth(ENTRIES[:size1])
        proof = merkle.consistency_proof(size1, size2, LEAVES)
        assert proof == ref_consistency(size1, ENTRIES[:size2])
        assert merkle.verify_consistency(size1=size1, size2=size2, proof=proof, root1=root1, root2=root2)
        if 0 < size1 < size2:
            # a forked history (another old root), another new root, a changed or cut proof
            fork = merkle.root_of([*LEAVES[: size1 - 1], merkle.leaf_hash(b"forged")])
            assert not merkle.verify_consistency(
                size1=size1, size2=size2, proof=proof, root1=fork, root2=root2
            )
            assert not merkle.verify_consistency(
                size1=size1, size2=size2, proof=proof, root1=root1, root2=root1
            )
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = hashlib.sha256(bad[i]).digest()
                assert not merkle.verify_consistency(
                    size1=size1, size2=size2, proof=bad, root1=root1, root2=root2
                )
            assert not merkle.verify_consistency(
                size1=size1, size2=size2, proof=proof[:-1], root1=root1, root2=root2
            )
            assert not merkle.verify_consistency(
                size1=size1, size2=size2, proof=[*proof, root2], root1=root1, root2=root2
            )
    # a shrink is never consistent
    assert not merkle.verify_consistency(size1=size2, size2=size2 - 1, proof=[], root1=root2, root2=root2)


BIG = 10_000
BIG_ENTRIES = [f"e{i}".encode() for i in range(BIG)]
BIG_LEAVES = [merkle.leaf_hash(e) for e in BIG_ENTRIES]


def _stored_nodes(size: int) -> dict[merkle.NodeId, bytes]:
    created, _ = merkle.append_leaves(0, {}, BIG_LEAVES[:size])
    return created


STORED = _stored_nodes(BIG)


@given(st.integers(1, BIG).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_inclusion_random_up_to_10000(pair):
    index, size = pair
    proof = merkle.inclusion_proof(index, size, BIG_LEAVES)
    assert proof == ref_path(index, BIG_ENTRIES[:size])
    # the stored-node version reads only the nodes it names, and agrees
    needed = merkle.inclusion_nodes(index, size)
    assert len(needed) <= 2 * size.bit_length()
    assert merkle.inclusion_proof_from(index, size, {n: STORED[n] for n in needed}) == proof
    root = merkle.root_from(size, {n: STORED[n] for n in merkle.root_nodes(size)})
    assert root == ref_mth(BIG_ENTRIES[:size])
    assert merkle.verify_inclusion(
        leaf_hash=BIG_LEAVES[index], index=index, size=size, proof=proof, root=root
    )


@given(st.integers(1, BIG).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_consistency_random_up_to_10000(pair):
    size1, size2 = pair
    proof = merkle.consistency_proof(size1, size2, BIG_LEAVES)
    assert proof == ref_consistency(size1, BIG_ENTRIES[:size2])
    needed = merkle.consistency_nodes(size1, size2)
    assert merkle.consistency_proof_from(size1, size2, {n: STORED[n] for n in needed}) == proof
    root1, root2 = merkle.root_of(BIG_LEAVES[:size1]), merkle.root_of(BIG_LEAVES[:size2])
    assert merkle.verify_consistency(size1=size1, size2=size2, proof=proof, root1=root1, root2=root2)
    if 0 < size1 < size2:
        assert not merkle.verify_consistency(size1=size1, size2=size2, proof=proof, root1=root2, root2=root2)


@given(st.lists(st.integers(0, 40), max_size=12))
def test_appending_in_batches_gives_the_same_nodes_and_roots(batches):
    size, frontier, stored = 0, {}, {}
    for count in batches:
        created, frontier = merkle.append_leaves(size, frontier, BIG_LEAVES[size : size + count])
        assert not set(created) & set(stored)  # a node, once complete, is never written again
        stored.update(created)
        size += count
        assert merkle.root_from(size, frontier) == merkle.root_of(BIG_LEAVES[:size])
    assert stored == {n: h for n, h in STORED.items() if (n[1] + 1) << n[0] <= size}


def test_appending_a_thousand_leaves_is_fast():
    start = time.perf_counter()
    _created, frontier = merkle.append_leaves(0, {}, BIG_LEAVES[:1000])
    merkle.root_from(1000, frontier)
    assert time.perf_counter() - start < 0.05


def test_merkle_is_pure_python():
    script = "import sys; sys.modules['django'] = None; import khutwa.tlog.merkle"
    subprocess.run([sys.executable, "-c", script], check=True)  # noqa: S603
