from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khutwa.documents import money

amounts = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("99999.999"), places=3, allow_nan=False, allow_infinity=False
)
rates = st.sampled_from([Decimal("0"), Decimal("10.00")])


@given(quantity=amounts.filter(lambda d: d > 0), price=amounts, rate=rates)
def test_a_line_is_rounded_half_up_to_fils_and_adds_up(quantity, price, rate):
    line = money.line_amounts(quantity=quantity, unit_price=price, discount=Decimal("0"), vat_rate=rate)
    for value in (line.net, line.vat, line.total):
        assert value == value.quantize(money.FILS)
    assert line.total == line.net + line.vat
    assert abs(line.net - quantity * price) <= Decimal("0.0005")
    assert abs(line.vat - line.net * rate / 100) <= Decimal("0.0005")


@given(value=amounts)
def test_text_has_exactly_three_decimals_and_parses_back(value):
    text = money.text(value)
    assert text.split(".")[1].__len__() == 3
    assert money.parse_amount(text) == value


def test_half_up_not_bankers():
    assert money.bhd(Decimal("0.0005")) == Decimal("0.001")
    assert money.bhd(Decimal("2.0025")) == Decimal("2.003")


@pytest.mark.parametrize("bad", ["1.2345", "1e3", "", "abc", "١٢", "1,5", " - 1", "NaN", "Infinity"])
def test_malformed_amounts_are_refused(bad):
    with pytest.raises(money.MoneyError):
        money.parse_amount(bad)


def test_negative_and_zero_rules():
    with pytest.raises(money.MoneyError):
        money.parse_amount("-1")
    with pytest.raises(money.MoneyError):
        money.parse_amount("0", allow_zero=False)
    assert money.parse_amount("-1", allow_negative=True) == Decimal("-1")


@pytest.mark.parametrize(
    ("amount", "english"),
    [
        ("1.000", "One Bahraini dinar"),
        ("12.500", "Twelve Bahraini dinars and 500 fils"),
        ("1250.005", "One thousand two hundred and fifty Bahraini dinars and 5 fils"),
        ("0.750", "Zero Bahraini dinars and 750 fils"),
    ],
)
def test_amount_in_words(amount, english):
    assert money.words_en(Decimal(amount)) == english
    arabic = money.words_ar(Decimal(amount))
    assert "دينار بحريني" in arabic
