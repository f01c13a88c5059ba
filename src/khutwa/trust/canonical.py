"""Canonical JSON (RFC 8785, "JCS") of a document payload, and the encodings around it.

A Khutwa payload holds only JSON objects with ASCII string keys, arrays, strings, integers
with ``|n| < 2**53``, booleans and null: amounts are strings with 3 decimals, never numbers.
For that subset the RFC 8785 serialisation is exactly what ``json.dumps`` writes with
sorted keys, no whitespace and no ASCII escaping, so ``canonical_json`` uses the C encoder
(several times faster than the pure-Python ``rfc8785`` package) after ``check_payload``
has proved the payload stays inside the subset. ``tests/trust/test_canonical.py`` checks
the equality with ``rfc8785.dumps`` on generated payloads.

Pure Python; no Django import (verifiers use this module offline).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

__all__ = [
    "MAX_SAFE_INTEGER",
    "PayloadError",
    "b64url_decode",
    "b64url_encode",
    "canonical_json",
    "check_payload",
    "sha256_hex",
]

#: Largest integer magnitude allowed in a payload (RFC 8785 / I-JSON: IEEE 754 exact).
MAX_SAFE_INTEGER = 2**53 - 1


class PayloadError(ValueError):
    """The payload holds something outside the canonical subset; the message names its path."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class _Bad(Exception):
    """Internal: raised at the offending value, the path is built while unwinding."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        self.parts: list[str] = []


def _problem(value: Any) -> str | None:
    """Why a scalar is not allowed, or None when it is (containers are handled by the walk)."""
    if value is None or value is True or value is False:
        return None
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "string is not valid Unicode (it holds a lone surrogate)"
        return None
    if isinstance(value, bool):  # a bool subclass that is not True/False itself: impossible
        return None
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        return "integer out of range (|n| must be below 2**53); write it as a string"
    if isinstance(value, float):
        return "floats are not allowed; write amounts as strings with 3 decimals, e.g. '12.345'"
    name = type(value).__name__
    if name == "Decimal":
        return "Decimal is not allowed; write amounts as strings with 3 decimals, e.g. '12.345'"
    return f"type {name} is not allowed (only dict, list, str, int, bool and None)"


def _walk(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            try:
                if not isinstance(key, str):
                    raise _Bad(f"key {key!r} is not a string")
                if not key.isascii():
                    raise _Bad(f"key {key!r} is not ASCII")
                _walk(item)
            except _Bad as bad:
                bad.parts.append(f".{key}" if isinstance(key, str) else f"[{key!r}]")
                raise
    elif isinstance(value, list):
        for index, item in enumerate(value):
            try:
                _walk(item)
            except _Bad as bad:
                bad.parts.append(f"[{index}]")
                raise
    else:
        problem = _problem(value)
        if problem is not None:
            raise _Bad(problem)


def _plainly_valid(obj: Any) -> bool:
    """Fast check with exact types only; False means "look closer" (``_walk`` names the path
    of the problem, and accepts subclasses such as ``StrEnum`` members)."""
    stack = [obj]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        value = pop()
        kind = type(value)
        if kind is str:
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return False
        elif kind is dict:
            for key, item in value.items():
                if type(key) is not str or not key.isascii():
                    return False
                push(item)
        elif kind is list:
            extend(value)
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
                return False
        elif value is not None and kind is not bool:
            return False
    return True


def check_payload(obj: Any) -> None:
    """Raise ``PayloadError`` naming the path (``$.lines[2].unit_price``) of the first value
    outside the canonical subset: a float, a Decimal, a non-ASCII or non-string key, an
    integer with ``|n| >= 2**53``, a string with a lone surrogate, a tuple, a set, ..."""
    if _plainly_valid(obj):
        return
    try:
        _walk(obj)
    except _Bad as bad:
        key_problem = bad.problem.startswith("key ")
        parts = list(reversed(bad.parts))
        if key_problem:
            parts = parts[:-1]  # the key itself is named in the problem; point at its object
        raise PayloadError("$" + "".join(parts), bad.problem) from None
    except RecursionError:
        raise PayloadError("$", "nested too deeply") from None


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a payload (checked with ``check_payload``)."""
    check_payload(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Lower-case hexadecimal SHA-256 of ``data`` (64 characters)."""
    return hashlib.sha256(data).hexdigest()


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """base64url (RFC 4648 §5) without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, length: int | None = None) -> bytes:
    """Strict inverse of ``b64url_encode``: only the base64url alphabet, no padding, the
    canonical encoding (unused trailing bits zero, so no two texts decode to the same bytes)
    and, when given, exactly ``length`` bytes. Raises ``ValueError`` otherwise."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        raise ValueError("not base64url (allowed: A-Z a-z 0-9 - _, no padding)")
    if len(text) % 4 == 1:
        raise ValueError("not base64url: impossible length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the regex excludes this
        raise ValueError(f"not base64url: {exc}") from None
    if b64url_encode(data) != text:
        raise ValueError("not the canonical base64url encoding")
    if length is not None and len(data) != length:
        raise ValueError(f"decodes to {len(data)} bytes, expected {length}")
    return data
