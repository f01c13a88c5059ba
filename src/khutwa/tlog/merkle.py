"""The Merkle tree of RFC 9162 §2.1 (pure Python, no Django: a verifier can copy this file).

Leaf hash = SHA-256(0x00 ‖ entry), node hash = SHA-256(0x01 ‖ left ‖ right), the empty tree's
root = SHA-256(""). Inclusion and consistency proofs follow §2.1.3 and §2.1.4.

The tree is stored as its *complete subtrees*: the node at ``(level, index)`` is the hash of the
leaves ``[index·2^level, (index+1)·2^level)``; it exists once the tree has that many leaves and
never changes afterwards (C2SP tlog-tiles stores the same hashes). Every hash a proof needs is
one of those nodes or a combination of at most log₂(n) of them, so the server's proofs read
O(log n) stored nodes: ``inclusion_nodes``/``consistency_nodes`` say which, and
``inclusion_proof_from``/``consistency_proof_from`` build the proof from them. The list-based
``inclusion_proof``/``consistency_proof``/``root_of`` are the same algorithms over a list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

NodeId = tuple[int, int]  # (level, index) of a complete subtree

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- the hashes a proof needs, as complete subtrees ---------------------------------------


def _range_nodes(start: int, end: int, out: list[NodeId]) -> None:
    """The complete subtrees whose hashes make up MTH(D[start:end]) (``start`` is aligned)."""
    n = end - start
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        out.append((level, start >> level))
        return
    k = _split(n)
    _range_nodes(start, start + k, out)
    _range_nodes(start + k, end, out)


def _range_hash(start: int, end: int, node: Callable[[int, int], bytes]) -> bytes:
    n = end - start
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return node(level, start >> level)
    k = _split(n)
    return node_hash(_range_hash(start, start + k, node), _range_hash(start + k, end, node))


def _inclusion_ranges(index: int, start: int, end: int) -> list[tuple[int, int]]:
    """The subtree ranges of PATH(index, D[start:end]), in proof order (leaf upwards)."""
    ranges: list[tuple[int, int]] = []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start = start + k
    ranges.reverse()
    return ranges


def _consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The subtree ranges of PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1 SUBPROOF), in order."""
    ranges: list[tuple[int, int]] = []
    start, end, m, whole = 0, size2, size1, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    ranges.reverse()
    return ranges


def _check_inclusion_args(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")


def _check_consistency_args(size1: int, size2: int) -> None:
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")


def _nodes_of(ranges: Iterable[tuple[int, int]]) -> set[NodeId]:
    out: list[NodeId] = []
    for start, end in ranges:
        _range_nodes(start, end, out)
    return set(out)


def root_nodes(size: int) -> set[NodeId]:
    """The complete subtrees whose hashes give the root of a tree of ``size`` leaves."""
    return _nodes_of([(0, size)]) if size else set()


def inclusion_nodes(index: int, size: int) -> set[NodeId]:
    _check_inclusion_args(index, size)
    return _nodes_of(_inclusion_ranges(index, 0, size))


def consistency_nodes(size1: int, size2: int) -> set[NodeId]:
    _check_consistency_args(size1, size2)
    if size1 == 0 or size1 == size2:
        return set()
    return _nodes_of(_consistency_ranges(size1, size2))


def root_from(size: int, nodes: Mapping[NodeId, bytes]) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    return _range_hash(0, size, lambda level, i: nodes[(level, i)])


def inclusion_proof_from(index: int, size: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    _check_inclusion_args(index, size)
    return [
        _range_hash(a, b, lambda level, i: nodes[(level, i)]) for a, b in _inclusion_ranges(index, 0, size)
    ]


def consistency_proof_from(size1: int, size2: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    _check_consistency_args(size1, size2)
    if size1 == 0 or size1 == size2:
        return []
    return [
        _range_hash(a, b, lambda level, i: nodes[(level, i)]) for a, b in _consistency_ranges(size1, size2)
    ]


# --- reference versions over a list of leaf hashes ----------------------------------------


def _list_node(leaf_hashes: Sequence[bytes]) -> Callable[[int, int], bytes]:
    def node(level: int, index: int) -> bytes:
        if level == 0:
            return leaf_hashes[index]
        return node_hash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1))

    return node


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    if not leaf_hashes:
        return EMPTY_ROOT
    return _range_hash(0, len(leaf_hashes), _list_node(leaf_hashes))


def inclusion_proof(index: int, size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    if size > len(leaf_hashes):
        raise ValueError(f"tree size {size} is larger than the {len(leaf_hashes)} leaves given")
    _check_inclusion_args(index, size)
    node = _list_node(leaf_hashes)
    return [_range_hash(a, b, node) for a, b in _inclusion_ranges(index, 0, size)]


def consistency_proof(size1: int, size2: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    if size2 > len(leaf_hashes):
        raise ValueError(f"tree size {size2} is larger than the {len(leaf_hashes)} leaves given")
    _check_consistency_args(size1, size2)
    if size1 == 0 or size1 == size2:
        return []
    node = _list_node(leaf_hashes)
    return [_range_hash(a, b, node) for a, b in _consistency_ranges(size1, size2)]


# --- appending ----------------------------------------------------------------------------


def append_leaves(
    size: int, frontier: Mapping[NodeId, bytes], new_leaf_hashes: Sequence[bytes]
) -> tuple[dict[NodeId, bytes], dict[NodeId, bytes]]:
    """Append leaves to a tree of ``size`` leaves whose right edge is ``frontier``.

    ``frontier`` holds (at least) ``root_nodes(size)``. Returns ``(created, new_frontier)``:
    every complete subtree the new leaves complete (to store) and ``root_nodes`` of the new size.
    """
    stack: dict[NodeId, bytes] = {node: frontier[node] for node in root_nodes(size)}
    created: dict[NodeId, bytes] = {}
    for h in new_leaf_hashes:
        level, index = 0, size
        created[(level, index)] = h
        while index & 1:
            left = stack.pop((level, index - 1))
            h = node_hash(left, h)
            level, index = level + 1, index >> 1
            created[(level, index)] = h
        stack[(level, index)] = h
        size += 1
    return created, stack


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -----------------------------------------


def verify_inclusion(*, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(*, size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> bool:
    if not 0 <= size1 <= size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof and root1 == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2
