"""`integrity.stored_vs_sealed` on its own: payloads v1 (today's) and v2 (per-line VAT and
totals gone, their columns NULL), values as each database driver returns them, and reasons
that never carry a customer's identity or a line's description."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from khutwa.documents.integrity import (
    MAX_LINE_REASONS,
    Links,
    Related,
    StoredLine,
    StoredRow,
    chain_head_reasons,
    stored_vs_sealed,
)

PUBLIC_ID = "3f2b8c1e-9d4a-4e7b-8a61-2c5d9e0f7a13"


def payload(version: int) -> dict:
    line = {
        "activity": "FOOD-SWEETS",
        "description": "Bahraini halwa",
        "quantity": "2.000",
        "unit": "kg",
        "unit_price": "4.500",
        "discount": "0.000",
        "vat_category": "S",
        "vat_rate": "10.00",
        "net": "9.000",
    }
    if version == 1:
        line |= {"vat": "0.900", "total": "9.900", "item_code": "HLW-001", "brand": ""}
    else:
        line |= {"activity_name_ar": "حلويات", "activity_name_en": "Sweets"}
    return {
        "v": version,
        "type": "invoice",
        "public_id": PUBLIC_ID,
        "number": "INV-2026-000045",
        "issued_at": "2026-11-27T10:15:00+03:00",
        "issue_date": "2026-11-27",
        "currency": "BHD",
        "issuer": {"licence": "KH-2026-000166", "trade_name": "Umm Ali", "vat_number": "200000000000003"},
        "customer": {
            "kind": "individual",
            "cpr": "880512345",
            "cr_number": None,
            "name_ar": "فاطمة أحمد",
            "name_en": "Fatema Ahmed",
        },
        "lines": [line],
        "subtotal": "9.000",
        "vat": "0.900",
        "total": "9.900",
        "references": {
            "quotation": "QUO-2026-000002",
            "invoice": "",
            "delivery_notes": [],
            "allocations": [],
        },
        "tamkeen_application_number": "TMK-2026-000031",
        "due_date": "",
        "chain": {"licence": "KH-2026-000166", "counter": 45, "previous_hash": "c" * 64},
    }


def row(**changes) -> StoredRow:
    stored = StoredRow(
        public_id=PUBLIC_ID.replace("-", ""),  # SQLite keeps UUIDs as 32 hex digits
        type="invoice",
        number="INV-2026-000045",
        licence="KH-2026-000166",
        counter=45,
        previous_hash="c" * 64,
        issued_at="2026-11-27 07:15:00.123456",  # SQLite: UTC as text, microseconds kept
        issue_date="2026-11-27",
        currency="BHD",
        subtotal=9,  # SQLite: NUMERIC affinity
        vat=0.9,
        total=Decimal("9.900"),
        customer_kind="individual",
        customer_cpr="880512345",
        customer_cr_number="",
        tamkeen_application_number="TMK-2026-000031",
        valid_until=None,
        due_date=None,
        reason="",
        payment_method="",
        payment_reference="",
        period_from=None,
        period_to=None,
    )
    return stored._replace(**changes)


def lines(version: int, **changes) -> Related:
    line = StoredLine(
        position=1,
        activity="FOOD-SWEETS",
        description="Bahraini halwa",
        quantity=Decimal("2.000"),
        unit="kg",
        unit_price=4.5,
        discount=0,
        vat_category="S",
        vat_rate=Decimal("10.00"),
        net=Decimal("9.000"),
        vat=Decimal("0.900") if version == 1 else None,
        total=Decimal("9.900") if version == 1 else None,
        item_code="HLW-001" if version == 1 else "",
        brand="",
    )
    return Related(lines=[line._replace(**changes)], links=Links(quotation="QUO-2026-000002"))


@pytest.mark.parametrize("version", [1, 2])
def test_rows_that_say_what_the_payload_says_pass(version):
    assert stored_vs_sealed(row(), lines(version), payload(version)) == []
    postgres = row(
        public_id=uuid.UUID(PUBLIC_ID),
        issued_at=dt.datetime(2026, 11, 27, 7, 15, 0, 999, tzinfo=dt.UTC),
        issue_date=dt.date(2026, 11, 27),
        subtotal=Decimal("9.000"),
        vat=Decimal("0.900"),
    )
    assert stored_vs_sealed(postgres, lines(version), payload(version)) == []


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"total": Decimal("99")}, "the stored total (99.000) differs from the sealed total (9.900)"),
        ({"type": "receipt"}, "the stored type (receipt) differs from the sealed type (invoice)"),
        ({"counter": 44}, "the stored counter (44) differs from the sealed counter (45)"),
        ({"issue_date": "2026-11-28"}, "the stored issue date (2026-11-28) differs"),
        ({"licence": "KH-2026-000001"}, "the stored licence (KH-2026-000001) differs"),
        ({"issued_at": "2026-11-27 08:15:00"}, "the stored issue time"),
    ],
)
def test_each_changed_column_is_named(version, changes, reason):
    reasons = stored_vs_sealed(row(**changes), lines(version), payload(version))
    assert any(r.startswith(reason) for r in reasons), reasons


@pytest.mark.parametrize("version", [1, 2])
def test_a_changed_customer_is_named_without_its_identity(version):
    reasons = stored_vs_sealed(row(customer_cpr="870303003"), lines(version), payload(version))
    assert reasons == ["the stored customer differs from the sealed customer (CPR)"]


@pytest.mark.parametrize("version", [1, 2])
def test_line_differences_are_named_by_position(version):
    assert stored_vs_sealed(row(), lines(version, net=Decimal("8")), payload(version)) == [
        "line 1: the stored net amount (8.000) differs from the sealed net amount (9.000)"
    ]
    assert stored_vs_sealed(row(), lines(version, description="Forged"), payload(version)) == [
        "line 1: the stored description differs from the sealed description"
    ]
    assert stored_vs_sealed(row(), Related(), payload(version)) == [
        "the number of lines differs: 0 stored, 1 sealed",
        "line 1 is sealed but not stored (a deleted line)",
    ]


def test_v1_lines_compare_their_vat_and_total_and_v2_lines_do_not():
    assert stored_vs_sealed(row(), lines(1, vat=Decimal("0")), payload(1)) == [
        "line 1: the stored VAT (0.000) differs from the sealed VAT (0.900)"
    ]
    assert stored_vs_sealed(row(), lines(2, vat=None, total=None), payload(2)) == []


def test_many_line_differences_are_counted_after_the_first_ones():
    sealed = payload(1)
    sealed["lines"] = sealed["lines"] * 30
    stored = Related(lines=[lines(1).lines[0]._replace(position=n, net=1) for n in range(1, 31)])
    reasons = stored_vs_sealed(row(), stored, sealed)
    assert len(reasons) == MAX_LINE_REASONS + 1 and reasons[-1] == "and 20 more differences in the lines"


def test_allocations_and_delivery_notes_are_compared():
    sealed = payload(1)
    sealed["references"] |= {
        "allocations": [{"invoice": "INV-2026-000001", "amount": "5.000"}],
        "delivery_notes": ["DLV-2026-000001"],
    }
    related = lines(1)
    related.allocations = [("INV-2026-000001", 5)]
    related.links = Links(quotation="QUO-2026-000002", delivery_notes=["DLV-2026-000001"])
    assert stored_vs_sealed(row(), related, sealed) == []
    related.allocations = [("INV-2026-000002", 5)]
    related.links = Links(delivery_notes=[])
    assert stored_vs_sealed(row(), related, sealed) == [
        "the stored quotation (none) differs from the sealed quotation (QUO-2026-000002)",
        "the stored delivery-note list (none) differs from the sealed delivery-note list (DLV-2026-000001)",
        "the allocation to invoice INV-2026-000001 is sealed but not stored",
        "an allocation to invoice INV-2026-000002 is stored but not sealed",
    ]
    related.links = None  # not read (the public verdict): not compared
    assert len(stored_vs_sealed(row(), related, sealed)) == 2


def test_the_chain_counter_against_its_last_document():
    assert chain_head_reasons(3, "a" * 64, "a" * 64) == []
    assert chain_head_reasons(3, "a" * 64, None) == [
        "the licence's last document (counter 3) is missing: it was deleted"
    ]
    assert chain_head_reasons(3, "a" * 64, "b" * 64) == [
        "the licence's chain counter does not hold the hash of its last document (counter 3)"
    ]
    assert chain_head_reasons(None, None, None) == ["the licence's chain counter is missing"]
