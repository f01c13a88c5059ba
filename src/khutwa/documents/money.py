"""Money in Bahraini dinars: Decimal only, 3 places (fils), half-up per line, totals summed
from the rounded lines (DESIGN.md). One place for every rounding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FILS = Decimal("0.001")
VAT_RATE = Decimal("10.00")  # Bahrain's standard rate since 1 January 2022
_AMOUNT_RE = re.compile(r"^-?[0-9]+(\.[0-9]{1,3})?$")


class MoneyError(ValueError):
    pass


def bhd(value: Decimal | int | str) -> Decimal:
    """Quantise to fils, half-up."""
    return Decimal(value).quantize(FILS, rounding=ROUND_HALF_UP)


def parse_amount(
    text: str | Decimal | int, *, allow_zero: bool = True, allow_negative: bool = False
) -> Decimal:
    """A user-supplied amount: at most 3 decimals (ASCII digits), never a float."""
    if isinstance(text, float):  # pragma: no cover - guarded by the type, kept for callers
        raise MoneyError("amounts are never floats")
    raw = str(text).strip()
    if not _AMOUNT_RE.match(raw):
        raise MoneyError("Enter an amount with at most 3 decimals.")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError("Enter an amount with at most 3 decimals.") from None
    if value < 0 and not allow_negative:
        raise MoneyError("The amount must not be negative.")
    if value == 0 and not allow_zero:
        raise MoneyError("The amount must be more than zero.")
    return value


def text(value: Decimal) -> str:
    """The canonical string of an amount: exactly 3 decimals."""
    return f"{bhd(value):.3f}"


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    vat: Decimal
    total: Decimal


def line_amounts(
    *, quantity: Decimal, unit_price: Decimal, discount: Decimal, vat_rate: Decimal
) -> LineAmounts:
    """net = round(quantity × unit price − discount); VAT = round(net × rate); total = net + VAT."""
    net = bhd(quantity * unit_price - discount)
    vat = bhd(net * vat_rate / Decimal(100))
    return LineAmounts(net=net, vat=vat, total=net + vat)


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


def _english(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return _ONES[n // 100] + " hundred" + (" and " + _english(n % 100) if n % 100 else "")
    for size, word in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            joiner = " and " if 0 < rest < 100 else " "
            return _english(n // size) + " " + word + (joiner + _english(rest) if rest else "")
    raise AssertionError(n)  # pragma: no cover


def words_en(amount: Decimal) -> str:
    """e.g. 1,250.500 → "One thousand two hundred and fifty Bahraini dinars and 500 fils"."""
    amount = bhd(amount)
    dinars = int(amount)
    fils = int((amount - dinars) * 1000)
    phrase = f"{_english(dinars)} Bahraini dinar{'s' if dinars != 1 else ''}"
    if fils:
        phrase += f" and {fils} fils"
    return phrase[0].upper() + phrase[1:]


def words_ar(amount: Decimal) -> str:
    """The amount in Arabic words (num2words' Arabic), e.g. "ألف ومئتان وخمسون دينارًا بحرينيًا و500 فلس"."""
    from num2words import num2words

    amount = bhd(amount)
    dinars = int(amount)
    fils = int((amount - dinars) * 1000)
    phrase = f"{num2words(dinars, lang='ar')} دينار بحريني"
    if fils:
        phrase += f" و{fils} فلس"
    return phrase
