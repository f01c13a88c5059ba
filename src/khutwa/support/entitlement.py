"""The entitlement formula (pure): the smallest of the subsidy on the quotation, what is left
of the tier's cap in the rolling 12 months, and the programme's remaining budget."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

FILS = Decimal("0.001")
ZERO = Decimal("0.000")


@dataclass(frozen=True)
class Entitlement:
    amount: Decimal
    by_rate: Decimal
    cap_left: Decimal
    budget_left: Decimal
    limited_by: str  # "rate", "cap" or "budget"


def entitlement(
    *,
    rate: Decimal,
    eligible_amount: Decimal,
    cap: Decimal | None,
    received_12m: Decimal,
    budget_left: Decimal,
) -> Entitlement:
    """Rounded down to the fils: Tamkeen never pays a fraction more than the rule allows."""
    by_rate = (rate * eligible_amount).quantize(FILS, rounding=ROUND_DOWN)
    cap_left = max(ZERO, (cap if cap is not None else by_rate) - received_12m)
    budget = max(ZERO, budget_left)
    candidates = [("rate", by_rate), ("cap", cap_left), ("budget", budget)]
    limited_by, amount = min(candidates, key=lambda item: item[1])
    return Entitlement(
        amount=max(ZERO, amount),
        by_rate=by_rate,
        cap_left=cap_left,
        budget_left=budget,
        limited_by=limited_by,
    )
