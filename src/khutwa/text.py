"""Text that goes into signed documents: no bidirectional control characters.

A right-to-left override (U+202E) inside a name makes the rest of the line display reversed,
so that "Ali" can show as a different name on a sealed invoice or a licence certificate while
the signature still holds. Every service that stores a name, a description or any other text
that can reach a sealed payload or a certificate passes it through `strip_bidi` (or, for a whole
input dataclass, `without_bidi`) where the text comes in. Nothing else changes: Arabic and
English letters, digits, punctuation, the zero-width joiner and non-joiner (U+200C/U+200D,
needed by some Arabic and Persian spellings) and white space come through as they were typed.
The page templates still wrap mixed-direction values in `<bdi>`; stripping is what makes the
sealed text itself safe wherever it is shown (PDF readers, the verify API, offline tools).
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypeVar

#: The explicit directional formatting characters of Unicode's bidirectional algorithm (UAX #9):
#: embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069), the implicit marks
#: (left-to-right U+200E, right-to-left U+200F) and the Arabic letter mark (U+061C).
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2066\u2067\u2068\u2069"  # LRI, RLI, FSI, PDI
    "\u200e\u200f"  # LRM, RLM
    "\u061c"  # ALM
)
_DELETE = dict.fromkeys(map(ord, BIDI_CONTROLS))

T = TypeVar("T")


def strip_bidi(text: str) -> str:
    """The text without its bidirectional control characters (anything else unchanged)."""
    return text.translate(_DELETE) if isinstance(text, str) else text


def has_bidi(text: str) -> bool:
    return isinstance(text, str) and not BIDI_CONTROLS.isdisjoint(text)


def without_bidi(value: T) -> T:
    """A copy of an input dataclass with `strip_bidi` applied to every text in it, also inside
    lists, tuples and nested dataclasses (the lines of a document). Other values are kept."""
    return _clean(value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_bidi(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clean(v) for v in value)
    return value


@cache
def _init_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def holds_bidi(value: Any) -> bool:
    """Whether `without_bidi` would change anything in `value` (the same walk, nothing copied):
    a service that does not change its input afterwards may skip the copy when it is False."""
    if isinstance(value, str):
        return not BIDI_CONTROLS.isdisjoint(value)
    if isinstance(value, list | tuple):
        return any(holds_bidi(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(holds_bidi(getattr(value, name)) for name in _init_fields(type(value)))
    return False
