"""Arabic-aware normalisation for search: what a reviewer types should find what was filed.

Removes diacritics (harakat, tanween, shadda, sukun, superscript alef) and tatweel, unifies
the alef forms (أ إ آ ٱ → ا), ta marbuta with ha (ة → ه) and alef maqsura with ya (ى → ي),
turns Arabic-Indic digits into ASCII, lower-cases Latin letters and folds white space.
"""

from __future__ import annotations

import re

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_TABLE = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Eastern Arabic-Indic digits
    }
)
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    text = _DIACRITICS.sub("", text or "").replace(_TATWEEL, "")
    text = text.translate(_TABLE).casefold()
    return _SPACES.sub(" ", text).strip()
