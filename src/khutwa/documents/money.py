"""Money in Bahraini dinars: Decimal only, 3 places (fils), half-up, one place for every
rounding (DESIGN.md). Lines are rounded to fils; VAT is computed once per VAT category and
rate on the sum of the lines' net amounts (EN 16931, BR-CO-14 / BR-S-08), then rounded.

Amounts in words follow the rules written down in docs/document-format.md ("Amounts in
words"): English with "and" after hundreds, Arabic with the counted noun's grammar (دينار
واحد، ديناران، ثلاثة دنانير، أحد عشر دينارًا، مائة دينار), fils in words in both languages,
and a negative amount (only a statement's closing balance can be one) said as a credit."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FILS = Decimal("0.001")
ZERO = Decimal("0.000")
VAT_RATE = Decimal("10.00")  # Bahrain's standard rate since 1 January 2022
#: The order in which a document lists its VAT categories (UNCL 5305 codes).
VAT_CATEGORIES = ("S", "Z", "E", "O")
_AMOUNT_RE = re.compile(r"^-?[0-9]+(\.[0-9]{1,3})?$")


class MoneyError(ValueError):
    pass


def bhd(value: Decimal | int | str) -> Decimal:
    """Quantise to fils, half-up; never a negative zero."""
    result = Decimal(value).quantize(FILS, rounding=ROUND_HALF_UP)
    return result if result else abs(result)


def column_limit(max_digits: int, decimal_places: int = 3) -> Decimal:
    """The largest amount a DECIMAL(max_digits, decimal_places) column holds."""
    return Decimal(10) ** (max_digits - decimal_places) - Decimal(1).scaleb(-decimal_places)


def parse_amount(
    text: str | Decimal | int,
    *,
    allow_zero: bool = True,
    allow_negative: bool = False,
    maximum: Decimal | None = None,
) -> Decimal:
    """A user-supplied amount: at most 3 decimals (ASCII digits), never a float, and at most
    `maximum` (the size of the column that will store it)."""
    if isinstance(text, float):  # pragma: no cover - guarded by the type, kept for callers
        raise MoneyError("amounts are never floats")
    raw = str(text).strip()
    if not _AMOUNT_RE.match(raw):
        raise MoneyError("Enter an amount with at most 3 decimals.")
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise MoneyError("Enter an amount with at most 3 decimals.") from None
    if value < 0 and not allow_negative:
        raise MoneyError("The amount must not be negative.")
    if value == 0 and not allow_zero:
        raise MoneyError("The amount must be more than zero.")
    if maximum is not None and abs(value) > maximum:
        raise MoneyError("The amount is too large.")
    return value if value else abs(value)


def text(value: Decimal) -> str:
    """The canonical string of an amount: exactly 3 decimals, never "-0.000"."""
    return f"{bhd(value):.3f}"


def line_net(*, quantity: Decimal, unit_price: Decimal, discount: Decimal) -> Decimal:
    """A line's net amount: round(quantity × unit price − discount), half-up to fils."""
    return bhd(quantity * unit_price - discount)


def vat_of(taxable: Decimal, rate: Decimal) -> Decimal:
    """The VAT on a category's taxable amount: round(taxable × rate / 100), half-up, once."""
    return bhd(taxable * rate / Decimal(100))


@dataclass(frozen=True)
class VatGroup:
    """One entry of a document's VAT breakdown: a category and rate, the sum of its lines'
    net amounts, and the VAT on that sum."""

    category: str
    rate: Decimal
    taxable: Decimal
    vat: Decimal

    def as_payload(self) -> dict[str, str]:
        return {
            "category": self.category,
            "rate": f"{self.rate:.2f}",
            "taxable": text(self.taxable),
            "vat": text(self.vat),
        }


def vat_breakdown(lines: Iterable[tuple[str, Decimal, Decimal]]) -> list[VatGroup]:
    """(category, rate, net) per line → the breakdown, in the order S, Z, E, O, each rounded
    once: 100 lines of 0.005 at 10% carry 0.050 VAT (on 0.500), not 100 × 0.001."""
    sums: dict[tuple[str, Decimal], Decimal] = {}
    for category, rate, net in lines:
        key = (category, Decimal(rate))
        sums[key] = sums.get(key, ZERO) + net
    order = {c: i for i, c in enumerate(VAT_CATEGORIES)}
    return [
        VatGroup(category, rate, bhd(taxable), vat_of(taxable, rate))
        for (category, rate), taxable in sorted(sums.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]


# --- amounts in words: English --------------------------------------------------------------

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def _english(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return _ONES[n // 100] + " hundred" + (" and " + _english(n % 100) if n % 100 else "")
    for size, word in _SCALES:
        if n >= size:
            rest = n % size
            joiner = " and " if 0 < rest < 100 else " "
            return _english(n // size) + " " + word + (joiner + _english(rest) if rest else "")
    raise AssertionError(n)  # pragma: no cover


def _split(amount: Decimal) -> tuple[bool, int, int]:
    """(negative, dinars, fils) of an amount rounded to fils."""
    value = bhd(amount)
    whole = abs(value)
    dinars = int(whole)
    return value < 0, dinars, int((whole - dinars) * 1000)


def words_en(amount: Decimal) -> str:
    """e.g. 1,250.500 → "One thousand two hundred and fifty Bahraini dinars and five hundred
    fils"; 0.750 → "Seven hundred and fifty fils"; −5.500 → "... in credit"."""
    negative, dinars, fils = _split(amount)
    parts = []
    if dinars or not fils:
        parts.append(f"{_english(dinars)} Bahraini dinar{'' if dinars == 1 else 's'}")
    if fils:
        parts.append(f"{_english(fils)} fils")
    phrase = " and ".join(parts) + (" in credit" if negative else "")
    return phrase[0].upper() + phrase[1:]


# --- amounts in words: Arabic ---------------------------------------------------------------

# Units in the form that counts a masculine noun (دينار and فلس are masculine): 3–10 take the
# feminine-looking form (ثلاثة، عشرة) — Arabic's gender polarity.
_AR_ONES = ["", "واحد", "اثنان", "ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية", "تسعة", "عشرة"]
_AR_TEENS_UNITS = ["", "أحد", "اثنا", "ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية", "تسعة"]
_AR_TENS = ["", "", "عشرون", "ثلاثون", "أربعون", "خمسون", "ستون", "سبعون", "ثمانون", "تسعون"]
_AR_HUNDREDS = [
    "",
    "مائة",
    "مئتان",
    "ثلاثمائة",
    "أربعمائة",
    "خمسمائة",
    "ستمائة",
    "سبعمائة",
    "ثمانمائة",
    "تسعمائة",
]


@dataclass(frozen=True)
class _Noun:
    """The forms of a counted noun: one (singular, with واحد after it), two (dual), 3–10
    (plural), 11–99 (singular accusative) and 100s/1000s (singular genitive after a construct)."""

    singular: str
    dual: str
    dual_construct: str
    plural: str
    accusative: str


_THOUSAND = _Noun("ألف", "ألفان", "ألفا", "آلاف", "ألفًا")
_MILLION = _Noun("مليون", "مليونان", "مليونا", "ملايين", "مليونًا")
_BILLION = _Noun("مليار", "ملياران", "مليارا", "مليارات", "مليارًا")
_DINAR = _Noun("دينار بحريني", "ديناران بحرينيان", "دينارا بحرينيا", "دنانير بحرينية", "دينارًا بحرينيًا")
_FILS = _Noun("فلس", "فلسان", "فلسا", "فلوس", "فلسًا")


def _ar_below_100(n: int) -> str:
    if n <= 10:
        return _AR_ONES[n]
    if n < 20:
        return f"{_AR_TEENS_UNITS[n - 10]} عشر"
    units, tens = n % 10, n // 10
    return f"{_AR_ONES[units]} و{_AR_TENS[tens]}" if units else _AR_TENS[tens]


def _ar_below_1000(n: int, *, construct: bool) -> str:
    """1–999. `construct`: the number ends right before its noun (مئتا دينار, not مئتان)."""
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        parts.append("مئتا" if hundreds == 2 and construct and not rest else _AR_HUNDREDS[hundreds])
    if rest:
        parts.append(_ar_below_100(rest))
    return " و".join(parts)


def _ar_counted(n: int, noun: _Noun, *, construct: bool = False) -> str:
    """n (1–999) of `noun`: the number and the noun in the form the number governs.
    `construct`: another noun follows this one directly (ألفا دينار، أحد عشر ألف دينار), so
    the dual loses its ن and the accusative its tanween."""
    if n == 1:
        return f"{noun.singular} واحد" if noun in (_DINAR, _FILS) else noun.singular
    if n == 2:
        return noun.dual_construct if construct else noun.dual
    rest = n % 100
    accusative = noun.singular if construct else noun.accusative
    if n <= 10:
        return f"{_AR_ONES[n]} {noun.plural}"
    if n < 100:
        return f"{_ar_below_100(n)} {accusative}"
    number = _ar_below_1000(n, construct=rest == 0)
    if rest <= 2:
        # مائة دينار، مئتا دينار; and مائة وواحد / مائة واثنان: the number is said, the noun
        # stays singular.
        return f"{number} {noun.singular}"
    if rest <= 10:
        return f"{number} {noun.plural}"
    return f"{number} {accusative}"


def _ar_number_of(n: int, noun: _Noun) -> str:
    """A whole number (≥ 1) of `noun`, e.g. 1,250 دينار → "ألف ومئتان وخمسون دينارًا بحرينيًا"."""
    groups: list[tuple[int, _Noun]] = []
    for size, scale in ((10**9, _BILLION), (10**6, _MILLION), (1000, _THOUSAND)):
        count, n = divmod(n, size)
        if count:
            groups.append((count, scale))
    if not groups:
        return _ar_counted(n, noun)
    said = [
        _ar_counted(count, scale, construct=not n and i == len(groups) - 1)
        for i, (count, scale) in enumerate(groups)
    ]
    if not n:
        # A round number of thousands (millions...): the noun follows in the genitive singular.
        return " و".join(said) + f" {noun.singular}"
    # Otherwise the noun follows the grammar of what remains (ألف وثلاثة دنانير), except
    # that 1 and 2 are said as numbers with the noun singular (ألف وواحد دينار).
    tail = f"{_AR_ONES[n]} {noun.singular}" if n <= 2 else _ar_counted(n, noun)
    return " و".join([*said, tail])


def words_ar(amount: Decimal) -> str:
    """The amount in Arabic words, e.g. 1,250.500 → "ألف ومئتان وخمسون دينارًا بحرينيًا
    وخمسمائة فلس"; 0.750 → "سبعمائة وخمسون فلسًا"; −5.500 → "... له" (in the customer's favour)."""
    negative, dinars, fils = _split(amount)
    parts = []
    if dinars:
        parts.append(_ar_number_of(dinars, _DINAR))
    elif not fils:
        parts.append(f"صفر {_DINAR.singular}")
    if fils:
        parts.append(_ar_number_of(fils, _FILS))
    phrase = " و".join(parts)
    return f"{phrase} له" if negative else phrase


def words(amount: Decimal) -> dict[str, str]:
    """The amount in words in both languages, as a sealed payload carries it."""
    return {"ar": words_ar(amount), "en": words_en(amount)}
