"""Stored document payloads for the UBL tests, as the documents app writes them: v1
(docs/document-format.md §1) and v2 (issue 9). Pure functions, no database.

``v2_payload`` and ``v2_split_pair`` follow the v2 rules: net = round_half_up(quantity ×
price − discount); split lines carry the whole line's net and this invoice's share, Tamkeen's
share rounded half-up and the customer's the remainder; the VAT breakdown per (category,
rate), in S Z E O order, VAT rounded half-up on each category's taxable amount, the
customer's share of a split taking VAT(whole) − VAT(Tamkeen's share).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

HASH = "ab" * 32
VERIFY_URL = "https://khutwa.example.bh/verify/7f0c6a52-6c1e-4f0e-9d55-2b1c4f5b9e01"
VAT_NUMBER = "200012345600002"
BUYER_VAT_NUMBER = "220000000000009"
STANDARD_RATE = "10.00"
ORDER = ("S", "Z", "E", "O")


def bhd(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def text(value: Decimal) -> str:
    return f"{bhd(value):.3f}"


def issuer(*, registered: bool, version: int = 2) -> dict[str, Any]:
    data: dict[str, Any] = {
        "licence": "KH-2026-000166",
        "trade_name": "مطبخ عائشة",
        "name_ar": "عائشة أحمد",
        "name_en": "Aisha Ahmed",
        "vat_number": VAT_NUMBER if registered else None,
        "activities": ["home-baking", "home-meals"],
        "address": {
            "building": "12",
            "road": "34",
            "block": "905",
            "area": "Riffa",
            "governorate": "Southern Governorate",
        },
    }
    if version == 2:
        data["activity_names"] = {
            "home-meals": {"ar": "وجبات منزلية", "en": "Home meals"},
            "home-baking": {"ar": "مخبوزات منزلية", "en": "Home baking"},
        }
        data["address"]["governorate_ar"] = "المحافظة الجنوبية"
    return data


def individual(*, version: int = 2, address: str = "", vat_number: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "individual",
        "cpr": "870303003",
        "cr_number": None,
        "name_ar": "فاطمة علي",
        "name_en": "Fatima Ali",
        "address": address,
        "is_tamkeen_customer": False,
    }
    if version == 2:
        data.update(vat_number=vat_number, is_tamkeen=False)
    return data


def business(*, version: int = 2, vat_number: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "business",
        "cpr": None,
        "cr_number": "12345-1",
        "name_ar": "شركة النخيل",
        "name_en": "Palm Co. W.L.L.",
        "address": "Flat 21, Building 1, Road 2, Block 3, Seef",
        "is_tamkeen_customer": False,
    }
    if version == 2:
        data.update(vat_number=vat_number, is_tamkeen=False)
    return data


def tamkeen() -> dict[str, Any]:
    return {
        "kind": "business",
        "cpr": None,
        "cr_number": "99999-1",
        "name_ar": "صندوق العمل «تمكين»",
        "name_en": "Labour Fund (Tamkeen)",
        "address": "",
        "vat_number": None,
        "is_tamkeen_customer": False,
        "is_tamkeen": True,
    }


def _header(type_: str, number: str) -> dict[str, Any]:
    return {
        "type": type_,
        "public_id": "7f0c6a52-6c1e-4f0e-9d55-2b1c4f5b9e01",
        "number": number,
        "issued_at": "2026-11-27T10:15:00+03:00",
        "issue_date": "2026-11-27",
        "currency": "BHD",
    }


def _tail(type_: str) -> dict[str, Any]:
    tail: dict[str, Any] = {
        "references": {"quotation": "", "invoice": "", "delivery_notes": []},
        "tamkeen_application_number": "",
        "chain": {"licence": "KH-2026-000166", "counter": 45, "previous_hash": "0" * 64},
    }
    if type_ == "invoice":
        tail["due_date"] = "2026-12-27"
    else:
        tail["references"]["invoice"] = "INV-2026-000040"
        tail["reason"] = "Order cancelled by the customer — تم إلغاء الطلب"
    return tail


# --- v1 --------------------------------------------------------------------------------------


def v1_line(
    *,
    quantity: str = "2.000",
    unit_price: str = "5.500",
    discount: str = "0.000",
    category: str = "O",
    **overrides: str,
) -> dict[str, str]:
    rate = STANDARD_RATE if category == "S" else "0.00"
    net = bhd(Decimal(quantity) * Decimal(unit_price) - Decimal(discount))
    vat = bhd(net * Decimal(rate) / 100)
    line = {
        "activity": "home-meals",
        "description": "Catering for 20 guests",
        "quantity": quantity,
        "unit": "piece",
        "unit_price": unit_price,
        "discount": discount,
        "vat_category": category,
        "vat_rate": rate,
        "net": text(net),
        "vat": text(vat),
        "total": text(net + vat),
        "item_code": "",
        "brand": "",
    }
    line.update(overrides)
    return line


def v1_payload(
    lines: list[dict[str, str]],
    *,
    type_: str = "invoice",
    registered: bool = False,
    customer: dict[str, Any] | None = None,
    number: str = "INV-2026-000045",
) -> dict[str, Any]:
    subtotal = sum((Decimal(line["net"]) for line in lines), Decimal(0))
    vat = sum((Decimal(line["vat"]) for line in lines), Decimal(0))
    return {
        "v": 1,
        **_header(type_, number),
        "issuer": issuer(registered=registered, version=1),
        "customer": customer or individual(version=1),
        "lines": lines,
        "subtotal": text(subtotal),
        "vat": text(vat),
        "total": text(subtotal + vat),
        **_tail(type_),
    }


# --- v2 --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSpec:
    """What the holder enters for a line."""

    quantity: str = "2.000"
    unit_price: str = "5.500"
    discount: str = "0.000"
    category: str = "O"
    unit: str = "piece"
    description: str = "Catering for 20 guests"
    activity: str = "home-meals"
    item_code: str = ""
    brand: str = ""

    @property
    def rate(self) -> str:
        return STANDARD_RATE if self.category == "S" else "0.00"

    @property
    def line_net(self) -> Decimal:
        return bhd(Decimal(self.quantity) * Decimal(self.unit_price) - Decimal(self.discount))


def _v2_line(spec: LineSpec, net: Decimal, share: str | None) -> dict[str, str]:
    names = {"home-meals": ("وجبات منزلية", "Home meals"), "home-baking": ("مخبوزات منزلية", "Home baking")}
    name_ar, name_en = names.get(spec.activity, ("نشاط", "Activity"))
    line = {
        "activity": spec.activity,
        "activity_name_ar": name_ar,
        "activity_name_en": name_en,
        "description": spec.description,
        "quantity": spec.quantity,
        "unit": spec.unit,
        "unit_price": spec.unit_price,
        "discount": spec.discount,
        "vat_category": spec.category,
        "vat_rate": spec.rate,
        "net": text(net),
        "item_code": spec.item_code,
        "brand": spec.brand,
    }
    if share is not None:
        line.update(share=share, line_net=text(spec.line_net))
    return line


def _breakdown(
    specs: Sequence[LineSpec], nets: Sequence[Decimal], others: Sequence[Decimal] | None
) -> list[dict[str, str]]:
    """others: for the customer's share of a split, Tamkeen's net of each line."""
    groups: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for i, spec in enumerate(specs):
        taxable, other = groups.get((spec.category, spec.rate), (Decimal(0), Decimal(0)))
        groups[spec.category, spec.rate] = (taxable + nets[i], other + (others[i] if others else Decimal(0)))
    entries = []
    for (category, rate), (taxable, other) in sorted(groups.items(), key=lambda g: ORDER.index(g[0][0])):
        percent = Decimal(rate) / 100
        vat = bhd((taxable + other) * percent) - bhd(other * percent) if others else bhd(taxable * percent)
        entries.append({"category": category, "rate": rate, "taxable": text(taxable), "vat": text(vat)})
    return entries


def v2_payload(
    specs: Sequence[LineSpec],
    *,
    type_: str = "invoice",
    registered: bool = False,
    customer: dict[str, Any] | None = None,
    number: str = "INV-2026-000045",
    _split: tuple[Sequence[Decimal], Sequence[str], Sequence[Decimal] | None] | None = None,
) -> dict[str, Any]:
    if _split is None:
        nets = [spec.line_net for spec in specs]
        lines = [_v2_line(spec, net, None) for spec, net in zip(specs, nets, strict=True)]
        breakdown = _breakdown(specs, nets, None)
    else:
        nets, shares, others = _split
        lines = [_v2_line(spec, net, share) for spec, net, share in zip(specs, nets, shares, strict=True)]
        breakdown = _breakdown(specs, nets, others)
    subtotal = sum((Decimal(entry["taxable"]) for entry in breakdown), Decimal(0))
    vat = sum((Decimal(entry["vat"]) for entry in breakdown), Decimal(0))
    return {
        "v": 2,
        "site": "https://khutwa.example.bh",
        **_header(type_, number),
        "issuer": issuer(registered=registered),
        "customer": customer or individual(),
        "lines": lines,
        "vat_breakdown": breakdown,
        "subtotal": text(subtotal),
        "vat": text(vat),
        "total": text(subtotal + vat),
        "total_words": {"ar": "…", "en": "…"},
        **_tail(type_),
    }


def v2_split_pair(
    specs: Sequence[LineSpec],
    *,
    tamkeen_share: str = "70.00",
    registered: bool = False,
    customer: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tamkeen's invoice and the customer's, for the same lines."""
    rate = Decimal(tamkeen_share) / 100
    tamkeen_nets = [bhd(spec.line_net * rate) for spec in specs]
    customer_nets = [spec.line_net - net for spec, net in zip(specs, tamkeen_nets, strict=True)]
    customer_share = f"{Decimal(100) - Decimal(tamkeen_share):.2f}"
    first = v2_payload(
        specs,
        registered=registered,
        customer=tamkeen(),
        number="INV-2026-000045",
        _split=(tamkeen_nets, [tamkeen_share] * len(specs), None),
    )
    second = v2_payload(
        specs,
        registered=registered,
        customer=customer or individual(),
        number="INV-2026-000046",
        _split=(customer_nets, [customer_share] * len(specs), tamkeen_nets),
    )
    for payload, partner in ((first, second), (second, first)):
        payload["tamkeen_application_number"] = "TMK-2026-000012"
        payload["references"]["quotation"] = "QUO-2026-000003"
        payload["references"]["split_partner"] = partner["number"]
    return first, second


def with_changes(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    changed.update(changes)
    return changed
