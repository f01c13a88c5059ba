from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khutwa.documents import money

amounts = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("99999.999"), places=3, allow_nan=False, allow_infinity=False
)
rates = st.sampled_from([Decimal("0"), Decimal("10.00")])


@given(quantity=amounts.filter(lambda d: d > 0), price=amounts)
def test_a_line_is_rounded_half_up_to_fils(quantity, price):
    net = money.line_net(quantity=quantity, unit_price=price, discount=Decimal("0"))
    assert net == net.quantize(money.FILS)
    assert abs(net - quantity * price) <= Decimal("0.0005")


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


# VAT per category, rounded once (EN 16931 BR-CO-14 / BR-S-08) ---------------------------------

lines_strategy = st.lists(
    st.tuples(st.sampled_from(["S", "Z", "E"]), amounts.filter(lambda d: d < 1000)), min_size=1, max_size=40
)


@given(lines=lines_strategy)
def test_vat_is_the_rounded_rate_of_each_categorys_sum_of_nets(lines):
    rated = [(c, money.VAT_RATE if c == "S" else Decimal("0"), net) for c, net in lines]
    groups = money.vat_breakdown(rated)
    assert [g.category for g in groups] == sorted({c for c, _n in lines}, key="SZEO".index)
    for group in groups:
        taxable = sum((n for c, _r, n in rated if c == group.category), Decimal("0"))
        assert group.taxable == taxable
        # rounded once, half-up, from the exact product
        assert group.vat == (taxable * group.rate / 100).quantize(money.FILS, rounding="ROUND_HALF_UP")
        assert abs(group.vat - taxable * group.rate / 100) <= Decimal("0.0005")


def test_a_hundred_lines_of_five_fils_carry_fifty_fils_of_vat_not_a_hundred():
    groups = money.vat_breakdown([("S", money.VAT_RATE, Decimal("0.005"))] * 100)
    assert [(g.taxable, g.vat) for g in groups] == [(Decimal("0.500"), Decimal("0.050"))]


# Amounts: no negative zero, limits from the column ---------------------------------------------


@pytest.mark.parametrize("value", ["-0", "-0.000", "-0.0004", "0.0004"])
def test_a_negative_zero_is_never_written(value):
    assert money.text(Decimal(value)) == "0.000"
    assert not money.bhd(Decimal(value)).is_signed()


def test_limits_come_from_the_column_size():
    assert money.column_limit(14) == Decimal("99999999999.999")
    assert money.column_limit(12) == Decimal("999999999.999")
    assert money.parse_amount("99999999999.999", maximum=money.column_limit(14))
    with pytest.raises(money.MoneyError):
        money.parse_amount("100000000000", maximum=money.column_limit(14))


# Amounts in words (rules in docs/document-format.md, "Amounts in words") -----------------------

WORDS = [
    ("0.000", "صفر دينار بحريني", "Zero Bahraini dinars"),
    ("0.005", "خمسة فلوس", "Five fils"),
    ("0.001", "فلس واحد", "One fils"),
    ("0.002", "فلسان", "Two fils"),
    ("0.011", "أحد عشر فلسًا", "Eleven fils"),
    ("0.200", "مئتا فلس", "Two hundred fils"),
    ("1.000", "دينار بحريني واحد", "One Bahraini dinar"),
    ("2.000", "ديناران بحرينيان", "Two Bahraini dinars"),
    ("3.000", "ثلاثة دنانير بحرينية", "Three Bahraini dinars"),
    ("10.000", "عشرة دنانير بحرينية", "Ten Bahraini dinars"),
    ("11.000", "أحد عشر دينارًا بحرينيًا", "Eleven Bahraini dinars"),
    ("12.000", "اثنا عشر دينارًا بحرينيًا", "Twelve Bahraini dinars"),
    ("21.000", "واحد وعشرون دينارًا بحرينيًا", "Twenty-one Bahraini dinars"),
    ("99.000", "تسعة وتسعون دينارًا بحرينيًا", "Ninety-nine Bahraini dinars"),
    ("100.000", "مائة دينار بحريني", "One hundred Bahraini dinars"),
    ("101.000", "مائة وواحد دينار بحريني", "One hundred and one Bahraini dinars"),
    ("103.000", "مائة وثلاثة دنانير بحرينية", "One hundred and three Bahraini dinars"),
    ("111.000", "مائة وأحد عشر دينارًا بحرينيًا", "One hundred and eleven Bahraini dinars"),
    ("200.000", "مئتا دينار بحريني", "Two hundred Bahraini dinars"),
    ("250.000", "مئتان وخمسون دينارًا بحرينيًا", "Two hundred and fifty Bahraini dinars"),
    ("1000.000", "ألف دينار بحريني", "One thousand Bahraini dinars"),
    ("1001.000", "ألف وواحد دينار بحريني", "One thousand and one Bahraini dinars"),
    ("1200.000", "ألف ومئتا دينار بحريني", "One thousand two hundred Bahraini dinars"),
    ("2000.000", "ألفا دينار بحريني", "Two thousand Bahraini dinars"),
    ("3000.000", "ثلاثة آلاف دينار بحريني", "Three thousand Bahraini dinars"),
    ("11000.000", "أحد عشر ألف دينار بحريني", "Eleven thousand Bahraini dinars"),
    ("11500.000", "أحد عشر ألفًا وخمسمائة دينار بحريني", "Eleven thousand five hundred Bahraini dinars"),
    ("1000000.000", "مليون دينار بحريني", "One million Bahraini dinars"),
    ("1000000.001", "مليون دينار بحريني وفلس واحد", "One million Bahraini dinars and one fils"),
    ("2000000.000", "مليونا دينار بحريني", "Two million Bahraini dinars"),
    (
        "1250.500",
        "ألف ومئتان وخمسون دينارًا بحرينيًا وخمسمائة فلس",
        "One thousand two hundred and fifty Bahraini dinars and five hundred fils",
    ),
    (
        "-5.500",
        "خمسة دنانير بحرينية وخمسمائة فلس له",
        "Five Bahraini dinars and five hundred fils in credit",
    ),
    ("-90.000", "تسعون دينارًا بحرينيًا له", "Ninety Bahraini dinars in credit"),
]


@pytest.mark.parametrize(("amount", "arabic", "english"), WORDS)
def test_amounts_in_words(amount, arabic, english):
    assert money.words_ar(Decimal(amount)) == arabic
    assert money.words_en(Decimal(amount)) == english


@given(
    value=st.decimals(min_value=Decimal("-99999999999.999"), max_value=Decimal("99999999999.999"), places=3)
)
def test_every_storable_amount_has_words_and_a_credit_is_said_as_such(value):
    ar, en = money.words_ar(value), money.words_en(value)
    assert ar and en and "-" not in ar and not en.startswith("-")
    assert not any(c.isdigit() for c in ar + en)  # every part is said in words
    assert en.endswith(" in credit") == (money.bhd(value) < 0)
    assert ar.endswith(" له") == (money.bhd(value) < 0)
    assert ("فلس" in ar or "فلوس" in ar or "فلسًا" in ar or "فلسان" in ar) == bool(money.bhd(value) % 1)
