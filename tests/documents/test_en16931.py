"""The UBL XML passes the EN 16931 business rules (the CEN schematron, run by Saxon), but for
the rules that BHD's third decimal breaks — and those, shown to fail for that reason only."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from khutwa.documents.en16931 import (
    TOLERATED_FOR_BHD,
    Failure,
    _Schematron,
    fils_as_cents,
    untolerated,
    validate_en16931,
)
from khutwa.documents.ubl import invoice_xml, validate_ubl
from tests.documents import payloads as P
from tests.documents.payloads import LineSpec

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
TWO_DECIMAL_RULES = {rule for rule in TOLERATED_FOR_BHD if rule.startswith(("BR-DEC-", "UBL-DT-"))}
CALCULATION_RULES = set(TOLERATED_FOR_BHD) - TWO_DECIMAL_RULES

# --- the cases -----------------------------------------------------------------------------------

PLAIN_V1 = [
    P.v1_line(),
    P.v1_line(
        description="Date cake",
        activity="home-baking",
        quantity="3.000",
        unit="kg",
        unit_price="4.250",
        discount="1.255",
        brand="Aisha's Bakes",
        item_code="CAKE-1",
    ),
]
TAX_V1 = [
    P.v1_line(category="S", quantity="1.500", unit_price="4.333"),
    P.v1_line(category="S", quantity="3.000", unit_price="0.335"),
    P.v1_line(category="Z", unit="service", unit_price="7.125", discount="0.005"),
    P.v1_line(category="E", unit="hour", unit_price="8.000"),
]
PLAIN_V2 = [
    LineSpec(),
    LineSpec(
        description="Date cake",
        activity="home-baking",
        quantity="3.000",
        unit="kg",
        unit_price="4.250",
        discount="1.255",
        brand="Aisha's Bakes",
        item_code="CAKE-1",
    ),
]
TAX_V2 = [
    LineSpec(category="S", quantity="1.500", unit_price="4.333"),
    LineSpec(category="S", quantity="3.000", unit_price="0.335"),
    LineSpec(category="Z", unit="service", unit_price="7.125", discount="0.005"),
    LineSpec(category="E", unit="hour", unit_price="8.000"),
]


def _credit(payload: dict[str, Any]) -> dict[str, Any]:
    credit_note = P.with_changes(
        payload,
        type="credit_note",
        number="CRN-2026-000007",
        reason="Returned goods",
        references={"quotation": "", "invoice": "INV-2026-000040", "delivery_notes": []},
    )
    del credit_note["due_date"]  # the documents app gives credit notes none
    return credit_note


def _with_references(payload: dict[str, Any]) -> dict[str, Any]:
    return P.with_changes(
        payload,
        tamkeen_application_number="TMK-2026-000012",
        references={
            "quotation": "QUO-2026-000003",
            "invoice": payload["references"]["invoice"],
            "delivery_notes": ["DLV-2026-000002", "DLV-2026-000003"],
        },
    )


def _v1_split() -> tuple[dict[str, Any], dict[str, Any]]:
    """v1 split invoices: each line one 'service' at the share's amount (services.invoice_split)."""
    tamkeen_customer = {**P.tamkeen(), "address": ""}
    for key in ("vat_number", "is_tamkeen"):
        tamkeen_customer.pop(key)
    first = P.v1_payload(
        [P.v1_line(quantity="1", unit="service", unit_price="8.929", category="S")],
        registered=True,
        customer=tamkeen_customer,
    )
    second = P.v1_payload(
        [P.v1_line(quantity="1", unit="service", unit_price="3.826", category="S")],
        registered=True,
        number="INV-2026-000046",
    )
    for payload, partner in ((first, second), (second, first)):
        payload["tamkeen_application_number"] = "TMK-2026-000012"
        payload["references"]["split_partner"] = partner["number"]
    return first, second


def _v2_split(registered: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    if registered:
        specs = [
            LineSpec(category="S", quantity="3.000", unit_price="4.285", discount="0.100"),
            LineSpec("1", "10.005", category="E"),
        ]
    else:
        specs = [LineSpec(quantity="3.000", unit_price="4.285", discount="0.100"), LineSpec("1", "10.005")]
    return P.v2_split_pair(specs, registered=registered, tamkeen_share="66.67")


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "v1-plain-invoice": lambda: P.v1_payload(PLAIN_V1),
    "v1-plain-credit-note": lambda: _credit(P.v1_payload(PLAIN_V1)),
    "v1-tax-invoice": lambda: P.v1_payload(TAX_V1, registered=True, customer=P.business(version=1)),
    "v1-tax-credit-note": lambda: _credit(P.v1_payload(TAX_V1, registered=True)),
    "v1-references": lambda: _with_references(P.v1_payload(PLAIN_V1)),
    "v1-credit-note-with-everything": lambda: _with_references(
        P.with_changes(_credit(P.v1_payload(TAX_V1, registered=True)), due_date="2026-12-27")
    ),
    "v1-split-tamkeen": lambda: _v1_split()[0],
    "v1-split-customer": lambda: _v1_split()[1],
    "v2-plain-invoice": lambda: P.v2_payload(PLAIN_V2),
    "v2-plain-credit-note": lambda: _credit(P.v2_payload(PLAIN_V2)),
    "v2-tax-invoice": lambda: P.v2_payload(TAX_V2, registered=True, customer=P.business()),
    "v2-tax-credit-note": lambda: _credit(P.v2_payload(TAX_V2, registered=True)),
    "v2-vat-registered-buyer": lambda: P.v2_payload(
        TAX_V2, registered=True, customer=P.business(vat_number=P.BUYER_VAT_NUMBER)
    ),
    "v2-plain-invoice-to-vat-registered-buyer": lambda: P.v2_payload(
        PLAIN_V2, customer=P.business(vat_number=P.BUYER_VAT_NUMBER)
    ),
    "v2-buyer-without-address": lambda: P.v2_payload(
        TAX_V2, registered=True, customer=P.individual(address="")
    ),
    "v2-buyer-with-address": lambda: P.v2_payload(
        PLAIN_V2, customer=P.individual(address="Road 2, Block 905")
    ),
    "v2-references": lambda: _with_references(P.v2_payload(PLAIN_V2)),
    "v2-split-tamkeen-tax": lambda: _v2_split(True)[0],
    "v2-split-customer-tax": lambda: _v2_split(True)[1],
    "v2-split-tamkeen-plain": lambda: _v2_split(False)[0],
    "v2-split-customer-plain": lambda: _v2_split(False)[1],
}


def _xml(payload: dict[str, Any]) -> bytes:
    return invoice_xml(payload, hash_hex=P.HASH, verify_url=P.VERIFY_URL)


def _rules(failures: list[Failure]) -> Counter[str]:
    return Counter(failure.rule for failure in failures)


# --- every case passes -------------------------------------------------------------------------


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_passes_en16931_but_for_bhd_three_decimals_and_the_xsd(make: Callable[[], dict[str, Any]]) -> None:
    xml = _xml(make())
    assert validate_ubl(xml) == []
    failures = validate_en16931(xml)
    assert untolerated(failures) == []
    assert failures, "BHD's three decimals always break the two-decimal rules: is the schematron running?"


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_in_two_decimal_money_it_passes_every_rule(make: Callable[[], dict[str, Any]]) -> None:
    """Every amount ten times larger (a fils read as a cent) changes nothing in the sums the
    rules check: with that, no rule fails at all, tolerated ones included."""
    assert validate_en16931(fils_as_cents(_xml(make()))) == []


def test_every_tolerated_rule_is_needed() -> None:
    """Each tolerated rule fails for some case: the list carries no rule for nothing."""
    seen: Counter[str] = Counter()
    for make in CASES.values():
        seen.update(_rules(validate_en16931(_xml(make()))))
    assert set(seen) == set(TOLERATED_FOR_BHD)


def test_tolerated_calculation_rules_pass_when_amounts_are_whole_cents() -> None:
    """Amounts that are whole multiples of 0.010 BHD: the calculation rules that round to two
    decimals pass, and what fails is only how many digits are written."""
    tax = [
        LineSpec(category="S", quantity="2.000", unit_price="5.550"),  # 11.100, VAT 1.110
        LineSpec(category="S", quantity="1.000", unit_price="3.000", discount="0.100"),  # 2.900, VAT 0.290
        LineSpec(category="Z", unit="service", unit_price="7.120"),
        LineSpec(category="E", unit="hour", unit_price="8.000", discount="0.250"),
    ]
    whole_cents = {
        "tax": P.v2_payload(tax, registered=True),
        "tax credit note": _credit(P.v2_payload(tax, registered=True)),
        "split": P.v2_split_pair(
            [LineSpec(category="S", quantity="1.000", unit_price="10.000")], registered=True
        )[1],
        "plain": P.v1_payload([P.v1_line(unit_price="5.520"), P.v1_line(discount="0.330")]),
    }
    for name, payload in whole_cents.items():
        amounts = [e.text for e in etree.fromstring(_xml(payload)).iter() if e.get("currencyID")]
        assert all(Decimal(a) % Decimal("0.010") == 0 for a in amounts), (name, amounts)
        failures = _rules(validate_en16931(_xml(payload)))
        assert set(failures) <= TWO_DECIMAL_RULES, (name, failures)
        assert "UBL-DT-01" in failures  # still written with three digits
    # one fils more on one price, and the calculation rules fail: they are live
    tax[0] = LineSpec(category="S", quantity="2.000", unit_price="5.553")  # 11.106, VAT 1.111
    failures = _rules(validate_en16931(_xml(P.v2_payload(tax, registered=True))))
    assert CALCULATION_RULES <= set(failures) <= set(TOLERATED_FOR_BHD)


# --- the defects the issue named are caught ------------------------------------------------------


def _clean_tree() -> etree._Element:
    return etree.fromstring(_xml(CASES["v2-vat-registered-buyer"]()))


def _one(tree: etree._Element, path: str) -> etree._Element:
    (element,) = tree.xpath(path, namespaces=NS)
    return element


def _remove(path: str) -> Callable[[etree._Element], None]:
    def change(tree: etree._Element) -> None:
        element = _one(tree, path)
        element.getparent().remove(element)

    return change


def _duplicate(path: str) -> Callable[[etree._Element], None]:
    def change(tree: etree._Element) -> None:
        element = _one(tree, path)
        element.addnext(etree.fromstring(etree.tostring(element)))

    return change


def _set(path: str, attribute: str | None, value: str) -> Callable[[etree._Element], None]:
    def change(tree: etree._Element) -> None:
        element = _one(tree, path)
        if attribute is None:
            element.text = value
        else:
            element.set(attribute, value)

    return change


SELLER = "/*/cac:AccountingSupplierParty/cac:Party"
BUYER = "/*/cac:AccountingCustomerParty/cac:Party"
DEFECTS: dict[str, tuple[Callable[[etree._Element], None], str]] = {
    "no seller name": (_remove(SELLER + "/cac:PartyLegalEntity/cbc:RegistrationName"), "BR-06"),
    "no buyer name": (_remove(BUYER + "/cac:PartyLegalEntity/cbc:RegistrationName"), "BR-07"),
    "seller trade name twice": (_duplicate(SELLER + "/cac:PartyName"), "UBL-SR-10"),
    "buyer trade name twice": (_duplicate(BUYER + "/cac:PartyName"), "UBL-SR-40"),
    "exemption reason twice": (
        _duplicate("//cac:TaxSubtotal/cac:TaxCategory[cbc:ID='E']/cbc:TaxExemptionReason"),
        "UBL-SR-32",
    ),
    "private identifier scheme": (
        _set(SELLER + "/cac:PartyIdentification/cbc:ID", "schemeID", "BH:KHUTWA-LICENCE"),
        "BR-CL-10",
    ),
    "private classification list": (
        _set("(//cbc:ItemClassificationCode)[1]", "listID", "BH:KHUTWA-ACTIVITY"),
        "BR-CL-13",
    ),
    "seller VAT id without BH": (
        _set(SELLER + "/cac:PartyTaxScheme/cbc:CompanyID", None, P.VAT_NUMBER),
        "BR-CO-09",
    ),
    "buyer VAT id without BH": (
        _set(BUYER + "/cac:PartyTaxScheme/cbc:CompanyID", None, P.BUYER_VAT_NUMBER),
        "BR-CO-09",
    ),
    "buyer without address": (_remove(BUYER + "/cac:PostalAddress"), "BR-10"),
    "language attribute": (_set(BUYER + "/cac:PartyName/cbc:Name", "languageID", "ar"), "UBL-DT-19"),
    "no exemption reason": (
        _remove("//cac:TaxSubtotal/cac:TaxCategory[cbc:ID='E']/cbc:TaxExemptionReason"),
        "BR-E-10",
    ),
}


@pytest.mark.parametrize(("change", "rule"), DEFECTS.values(), ids=DEFECTS.keys())
def test_each_named_defect_is_caught(change: Callable[[etree._Element], None], rule: str) -> None:
    tree = _clean_tree()
    assert rule not in _rules(validate_en16931(etree.tostring(tree)))
    change(tree)
    assert rule in _rules(untolerated(validate_en16931(etree.tostring(tree))))


def test_two_despatch_advices_are_caught() -> None:
    tree = etree.fromstring(_xml(CASES["v2-references"]()))
    _duplicate("/*/cac:DespatchDocumentReference")(tree)
    assert "UBL-SR-03" in _rules(validate_en16931(etree.tostring(tree)))


# --- the validator -------------------------------------------------------------------------------


def test_a_failure_says_what_and_where() -> None:
    tree = _clean_tree()
    _remove(SELLER + "/cac:PartyLegalEntity/cbc:RegistrationName")(tree)
    (failure,) = [f for f in validate_en16931(etree.tostring(tree)) if f.rule == "BR-06"]
    assert failure.flag == "fatal"
    assert failure.text == "[BR-06]-An Invoice shall contain the Seller name (BT-27)."
    assert failure.location.startswith("/*:Invoice")
    assert not failure.is_tolerated


def test_not_xml_and_entities_are_refused_without_reading_anything(tmp_path: Any) -> None:
    (failure,) = validate_en16931(b"<Invoice")
    assert (failure.rule, failure.flag) == ("XML", "fatal")
    secret = tmp_path / "secret.txt"
    secret.write_text("top-secret")
    xml = f'<!DOCTYPE d [<!ENTITY x SYSTEM "{secret.as_uri()}">]><d>&x;</d>'.encode()
    assert "top-secret" not in repr(validate_en16931(xml))


def test_the_stylesheet_is_compiled_once_and_runs_in_parallel_threads() -> None:
    assert _Schematron.get() is _Schematron.get()
    xmls = [_xml(make()) for make in list(CASES.values())[:6]]
    expected = [validate_en16931(xml) for xml in xmls]
    results: dict[int, list[Failure]] = {}

    def run(i: int) -> None:
        results[i] = validate_en16931(xmls[i % len(xmls)])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(12)] == [expected[i % len(xmls)] for i in range(12)]


def test_a_run_is_fast_once_compiled() -> None:
    xml = _xml(CASES["v2-tax-invoice"]())
    validate_en16931(xml)
    started = time.perf_counter()
    for _ in range(10):
        validate_en16931(xml)
    assert (time.perf_counter() - started) / 10 < 0.25  # about 10 ms here; generous for a loaded CI


# --- random v2 payloads --------------------------------------------------------------------------


def _fils(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{Decimal(n).scaleb(-3):.3f}")


@st.composite
def _line_specs(draw: st.DrawFn, categories: tuple[str, ...]) -> LineSpec:
    quantity = draw(st.one_of(st.integers(1, 20).map(lambda n: f"{n}.000"), _fils(1, 999_999)))
    price = draw(st.one_of(st.just("0.000"), _fils(0, 999), _fils(1_000, 9_999_999)))
    gross = P.bhd(Decimal(quantity) * Decimal(price))
    discount = draw(st.one_of(st.just("0.000"), _fils(0, int(gross * 1000))))
    return LineSpec(
        quantity=quantity,
        unit_price=price,
        discount=discount,
        category=draw(st.sampled_from(categories)),
        unit=draw(st.sampled_from(["piece", "kg", "hour", "day", "service", "other"])),
        activity=draw(st.sampled_from(["home-meals", "home-baking"])),
        item_code=draw(st.sampled_from(["", "SKU-1"])),
        brand=draw(st.sampled_from(["", "Aisha's"])),
    )


@st.composite
def _v2_payloads(draw: st.DrawFn) -> dict[str, Any]:
    registered = draw(st.booleans())
    specs = draw(st.lists(_line_specs(("S", "Z", "E") if registered else ("O",)), min_size=1, max_size=5))
    customer = draw(
        st.sampled_from(
            [
                P.individual(),
                P.individual(address="Flat 3, Road 2, Block 905, Riffa"),
                P.business(),
                P.business(vat_number=P.BUYER_VAT_NUMBER),
            ]
        )
    )
    shape = draw(st.sampled_from(["invoice", "credit_note", "split_tamkeen", "split_customer"]))
    if shape.startswith("split"):
        share = f"{Decimal(draw(st.integers(1, 9_999))).scaleb(-2):.2f}"
        pair = P.v2_split_pair(specs, tamkeen_share=share, registered=registered, customer=customer)
        return pair[0] if shape == "split_tamkeen" else pair[1]
    payload = P.v2_payload(specs, registered=registered, customer=customer)
    return _credit(payload) if shape == "credit_note" else payload


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_v2_payloads())
def test_random_v2_payloads_pass_en16931(payload: dict[str, Any]) -> None:
    xml = _xml(payload)
    assert validate_ubl(xml) == []
    assert untolerated(validate_en16931(xml)) == []
    assert validate_en16931(fils_as_cents(xml)) == []
    tree = etree.fromstring(xml)
    for line in tree.xpath("//cac:InvoiceLine | //cac:CreditNoteLine", namespaces=NS):
        quantity = Decimal(line.xpath("cbc:InvoicedQuantity | cbc:CreditedQuantity", namespaces=NS)[0].text)
        price = Decimal(line.xpath("cac:Price/cbc:PriceAmount", namespaces=NS)[0].text)
        allowances = sum(
            (Decimal(a) for a in line.xpath("cac:AllowanceCharge/cbc:Amount/text()", namespaces=NS)),
            Decimal(0),
        )
        net = Decimal(line.xpath("cbc:LineExtensionAmount", namespaces=NS)[0].text)
        assert net == P.bhd(quantity * price) - allowances


# --- the documents app's own documents ---------------------------------------------------------


@pytest.mark.django_db
def test_documents_issued_by_the_app_pass(holder: Any, customer: Any, licence: Any, issue: Any) -> None:
    from khutwa.documents import services
    from khutwa.documents.pdf import ubl_of
    from tests.documents.conftest import line

    invoice = issue("invoice", lines=[line(quantity="1.5", unit_price="4.333"), line(discount="0.005")])
    credit_note = issue("credit_note", invoice=str(invoice.public_id), reason="Returned", lines=[line()])
    first, second = services.invoice_split(
        actor=holder,
        data=services.DocumentInput(
            type="invoice",
            customer=customer.pk,
            lines=[line(quantity="1", unit_price="101.005")],
            tamkeen_application_number="TMK-2026-000009",
        ),
        tamkeen_rate=Decimal("0.7"),
    )
    licence.vat_number = P.VAT_NUMBER
    licence.save(update_fields=["vat_number"])
    tax_invoice = issue(
        "invoice",
        lines=[line(vat_category="S", unit_price="4.335"), line(vat_category="Z"), line(vat_category="E")],
    )
    for document in (invoice, credit_note, first.document, second.document, tax_invoice):
        xml = ubl_of(document)
        assert xml is not None
        assert validate_ubl(xml) == []
        assert untolerated(validate_en16931(xml)) == [], document.number
