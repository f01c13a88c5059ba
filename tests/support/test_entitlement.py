from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from khutwa.support.entitlement import entitlement

D = Decimal


def test_the_rate_limits():
    e = entitlement(
        rate=D("0.5"), eligible_amount=D("400"), cap=D("2500"), received_12m=D("0"), budget_left=D("10000")
    )
    assert (e.amount, e.limited_by) == (D("200.000"), "rate")


def test_the_cap_minus_what_was_received_limits():
    e = entitlement(
        rate=D("1"), eligible_amount=D("3000"), cap=D("2500"), received_12m=D("2400"), budget_left=D("10000")
    )
    assert (e.amount, e.limited_by) == (D("100"), "cap")


def test_a_cap_used_up_gives_nothing():
    e = entitlement(
        rate=D("1"), eligible_amount=D("100"), cap=D("2500"), received_12m=D("2600"), budget_left=D("10000")
    )
    assert e.amount == 0


def test_the_budget_limits():
    e = entitlement(
        rate=D("1"), eligible_amount=D("3000"), cap=D("2500"), received_12m=D("0"), budget_left=D("99.5")
    )
    assert (e.amount, e.limited_by) == (D("99.5"), "budget")


def test_rounded_down_to_the_fils():
    e = entitlement(
        rate=D("0.5"), eligible_amount=D("0.003"), cap=None, received_12m=D("0"), budget_left=D("1")
    )
    assert e.amount == D("0.001")


money = st.decimals(min_value=D("0"), max_value=D("100000"), places=3)


@given(
    rate=st.decimals(min_value=D("0.001"), max_value=D("1"), places=3),
    amount=money,
    cap=money,
    received=money,
    budget=money,
)
def test_never_more_than_any_limit(rate, amount, cap, received, budget):
    e = entitlement(rate=rate, eligible_amount=amount, cap=cap, received_12m=received, budget_left=budget)
    assert D("0") <= e.amount <= rate * amount
    assert e.amount <= max(D("0"), cap - received)
    assert e.amount <= budget
