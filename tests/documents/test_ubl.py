"""UBL 2.1 XML of invoices and credit notes, from the payloads as stored (v1 and v2): no
database, no Django. The EN 16931 business rules are checked in test_en16931.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from khutwa.documents.ubl import CUSTOMIZATION_ID, invoice_xml, validate_ubl
from tests.documents import payloads as P
from tests.documents.payloads import LineSpec

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
SUPPLIER = "/*/cac:AccountingSupplierParty/cac:Party"
CUSTOMER = "/*/cac:AccountingCustomerParty/cac:Party"


def v1_plain() -> dict[str, Any]:
    return P.v1_payload(
        [
            P.v1_line(),
            P.v1_line(
                activity="home-baking",
                description="Date cake",
                quantity="3.000",
                unit="kg",
                unit_price="4.250",
                discount="1.250",
                item_code="CAKE-DATE-1",
                brand="Aisha's Bakes",
            ),
            P.v1_line(description="Cooking class", quantity="1.500", unit="hour", unit_price="8.000"),
        ]
    )


def v1_tax() -> dict[str, Any]:
    return P.v1_payload(
        [
            P.v1_line(category="S"),
            P.v1_line(
                description="Event hosting", quantity="1.000", unit="day", unit_price="30.000", category="S"
            ),
            P.v1_line(
                description="Export consignment",
                quantity="1.000",
                unit="service",
                unit_price="7.125",
                category="Z",
            ),
            P.v1_line(
                description="Cooking class", quantity="2.000", unit="hour", unit_price="4.000", category="E"
            ),
        ],
        registered=True,
        customer=P.business(version=1),
    )


def v1_credit_note() -> dict[str, Any]:
    return P.v1_payload([P.v1_line(quantity="1.000")], type_="credit_note", number="CRN-2026-000007")


def v1_tamkeen() -> dict[str, Any]:
    payload = v1_plain()
    payload["tamkeen_application_number"] = "TMK-2026-000012"
    payload["customer"]["is_tamkeen_customer"] = True
    payload["references"] = {
        "quotation": "QUO-2026-000003",
        "invoice": "",
        "delivery_notes": ["DLV-2026-000002", "DLV-2026-000003"],
    }
    return payload


def v2_tax() -> dict[str, Any]:
    return P.v2_payload(
        [
            LineSpec(category="S", quantity="1.500", unit_price="4.333"),
            LineSpec(category="Z", description="Export consignment", unit="service", unit_price="7.125"),
            LineSpec(category="E", description="Cooking class", unit="hour", discount="0.250"),
        ],
        registered=True,
        customer=P.business(vat_number=P.BUYER_VAT_NUMBER),
    )


def v2_plain() -> dict[str, Any]:
    return P.v2_payload(
        [LineSpec(), LineSpec(unit="kg", quantity="0.750", unit_price="6.400", discount="0.100")]
    )


def v2_split() -> tuple[dict[str, Any], dict[str, Any]]:
    return P.v2_split_pair(
        [
            LineSpec(category="S", quantity="3.000", unit_price="4.285", discount="0.100"),
            LineSpec(category="E"),
        ],
        registered=True,
    )


ALL: dict[str, Callable[[], dict[str, Any]]] = {
    "v1_plain": v1_plain,
    "v1_tax": v1_tax,
    "v1_credit_note": v1_credit_note,
    "v1_tamkeen": v1_tamkeen,
    "v2_plain": v2_plain,
    "v2_tax": v2_tax,
    "v2_split_tamkeen": lambda: v2_split()[0],
    "v2_split_customer": lambda: v2_split()[1],
}


def _build(payload: dict[str, Any]) -> bytes:
    return invoice_xml(payload, hash_hex=P.HASH, verify_url=P.VERIFY_URL)


def _tree(payload: dict[str, Any]) -> etree._Element:
    return etree.fromstring(_build(payload))


def _text(tree: etree._Element, path: str) -> list[str]:
    return [element.text for element in tree.xpath(path, namespaces=NS)]


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
def test_valid_against_the_ubl_xsd(make: Callable[[], dict[str, Any]]) -> None:
    assert validate_ubl(_build(make())) == []


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
def test_amounts_have_three_decimals_and_bhd(make: Callable[[], dict[str, Any]]) -> None:
    tree = _tree(make())
    amounts = [element for element in tree.iter() if element.get("currencyID") is not None]
    assert len(amounts) > 5
    for element in amounts:
        assert element.get("currencyID") == "BHD"
        assert len(element.text.split(".")[1]) == 3, (etree.QName(element).localname, element.text)


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
def test_totals_and_lines_equal_the_payload(make: Callable[[], dict[str, Any]]) -> None:
    payload = make()
    tree = _tree(payload)
    total = "/*/cac:LegalMonetaryTotal/cbc:"
    assert _text(tree, total + "LineExtensionAmount") == [payload["subtotal"]]
    assert _text(tree, total + "TaxExclusiveAmount") == [payload["subtotal"]]
    assert _text(tree, total + "TaxInclusiveAmount") == [payload["total"]]
    assert _text(tree, total + "PayableAmount") == [payload["total"]]
    assert not tree.xpath("//cbc:AllowanceTotalAmount", namespaces=NS)  # line allowances only
    assert _text(tree, "/*/cac:TaxTotal/cbc:TaxAmount") == [payload["vat"]]
    taxable = _text(tree, "/*/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount")
    taxes = _text(tree, "/*/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount")
    assert sum(map(Decimal, taxable)) == Decimal(payload["subtotal"])
    assert sum(map(Decimal, taxes)) == Decimal(payload["vat"])
    if payload["v"] == 2:
        assert [
            {"category": c, "rate": r or "0.00", "taxable": t, "vat": v}
            for c, r, t, v in zip(
                _text(tree, "//cac:TaxSubtotal/cac:TaxCategory/cbc:ID"),
                [
                    (s.xpath("cac:TaxCategory/cbc:Percent/text()", namespaces=NS) or [None])[0]
                    for s in tree.xpath("//cac:TaxSubtotal", namespaces=NS)
                ],
                taxable,
                taxes,
                strict=True,
            )
        ] == payload["vat_breakdown"]
    line_tag = "cac:CreditNoteLine" if payload["type"] == "credit_note" else "cac:InvoiceLine"
    assert _text(tree, f"/*/{line_tag}/cbc:ID") == [str(i) for i in range(1, len(payload["lines"]) + 1)]
    assert _text(tree, f"/*/{line_tag}/cbc:LineExtensionAmount") == [line["net"] for line in payload["lines"]]
    assert not tree.xpath(f"//{line_tag}/cac:TaxTotal", namespaces=NS)  # EN 16931 has no line VAT


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
def test_each_line_is_quantity_times_price_minus_its_allowances(make: Callable[[], dict[str, Any]]) -> None:
    tree = _tree(make())
    lines = tree.xpath("//cac:InvoiceLine | //cac:CreditNoteLine", namespaces=NS)
    for line in lines:
        quantity = Decimal(line.xpath("cbc:InvoicedQuantity | cbc:CreditedQuantity", namespaces=NS)[0].text)
        price = Decimal(_text(line, "cac:Price/cbc:PriceAmount")[0])
        allowances = sum(map(Decimal, _text(line, "cac:AllowanceCharge/cbc:Amount")), Decimal(0))
        assert _text(line, "cac:AllowanceCharge/cbc:ChargeIndicator") == ["false"] * len(
            _text(line, "cac:AllowanceCharge/cbc:Amount")
        )
        assert Decimal(_text(line, "cbc:LineExtensionAmount")[0]) == P.bhd(quantity * price) - allowances


def test_arabic_survives_as_utf8_one_language_per_element() -> None:
    xml = _build(v1_plain())
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "مطبخ عائشة".encode() in xml  # raw UTF-8, not character references
    tree = etree.fromstring(xml)
    assert not tree.xpath("//@languageID")
    # seller: legal name (English), trade name, the holder's Arabic name as contact
    assert _text(tree, SUPPLIER + "/cac:PartyLegalEntity/cbc:RegistrationName") == ["Aisha Ahmed"]
    assert _text(tree, SUPPLIER + "/cac:PartyName/cbc:Name") == ["مطبخ عائشة"]
    assert _text(tree, SUPPLIER + "/cac:Contact/cbc:Name") == ["عائشة أحمد"]
    # buyer: English legal name, Arabic beside it
    assert _text(tree, CUSTOMER + "/cac:PartyLegalEntity/cbc:RegistrationName") == ["Fatima Ali"]
    assert _text(tree, CUSTOMER + "/cac:PartyName/cbc:Name") == ["فاطمة علي"]
    # English reason on the breakdown, Arabic in notes
    assert _text(tree, "//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason") == [
        "Outside the scope of VAT"
    ]
    assert _text(tree, "/*/cbc:Note") == [
        "Not VAT-registered",
        "غير مسجل في ضريبة القيمة المضافة",
        "خارج نطاق ضريبة القيمة المضافة",
    ]


def test_a_buyer_with_one_name_has_it_as_legal_name_only() -> None:
    payload = v1_plain()
    payload["customer"].update(name_en="")
    tree = _tree(payload)
    assert _text(tree, CUSTOMER + "/cac:PartyLegalEntity/cbc:RegistrationName") == ["فاطمة علي"]
    assert not tree.xpath(CUSTOMER + "/cac:PartyName", namespaces=NS)


def test_plain_invoice() -> None:
    tree = _tree(v1_plain())
    assert tree.tag == f"{{{NS['inv']}}}Invoice"
    assert _text(tree, "/*/cbc:UBLVersionID") == ["2.1"]
    assert _text(tree, "/*/cbc:CustomizationID") == [CUSTOMIZATION_ID]
    assert _text(tree, "/*/cbc:ID") == ["INV-2026-000045"]
    assert _text(tree, "/*/cbc:IssueDate") == ["2026-11-27"]
    assert _text(tree, "/*/cbc:DueDate") == ["2026-12-27"]
    assert _text(tree, "/*/cbc:InvoiceTypeCode") == ["380"]
    assert _text(tree, "/*/cbc:DocumentCurrencyCode") == ["BHD"]
    # identifiers carry no private scheme: the element says what they are
    assert _text(tree, SUPPLIER + "/cac:PartyIdentification/cbc:ID") == ["KH-2026-000166"]
    assert _text(tree, CUSTOMER + "/cac:PartyIdentification/cbc:ID") == ["870303003"]
    assert not tree.xpath("//@schemeID", namespaces=NS)
    assert not tree.xpath("//cac:PartyTaxScheme", namespaces=NS)
    address = SUPPLIER + "/cac:PostalAddress/"
    assert _text(tree, address + "cbc:StreetName") == ["Building 12, Road 34"]
    assert _text(tree, address + "cbc:AdditionalStreetName") == ["Block 905"]
    assert _text(tree, address + "cbc:CityName") == ["Riffa"]
    assert _text(tree, address + "cbc:CountrySubentity") == ["Southern Governorate"]
    assert _text(tree, address + "cac:Country/cbc:IdentificationCode") == ["BH"]
    # the customer's address is empty: the country alone (EN 16931 BR-10, BR-11)
    assert [
        etree.QName(e).localname for e in tree.xpath(CUSTOMER + "/cac:PostalAddress/*", namespaces=NS)
    ] == ["Country"]
    assert _text(tree, CUSTOMER + "/cac:PostalAddress/cac:Country/cbc:IdentificationCode") == ["BH"]
    assert [q.get("unitCode") for q in tree.xpath("//cbc:InvoicedQuantity", namespaces=NS)] == [
        "H87",
        "KGM",
        "HUR",
    ]
    assert _text(tree, "//cbc:InvoicedQuantity") == ["2.000", "3.000", "1.500"]
    assert _text(tree, "//cac:Price/cbc:PriceAmount") == ["5.500", "4.250", "8.000"]
    second = "/*/cac:InvoiceLine[2]"
    assert _text(tree, second + "/cac:AllowanceCharge/cbc:AllowanceChargeReasonCode") == ["95"]
    assert _text(tree, second + "/cac:AllowanceCharge/cbc:Amount") == ["1.250"]
    assert len(tree.xpath("//cac:InvoiceLine/cac:AllowanceCharge", namespaces=NS)) == 1
    assert _text(tree, second + "/cac:Item/cbc:Name") == ["Date cake"]
    assert _text(tree, second + "/cac:Item/cac:SellersItemIdentification/cbc:ID") == ["CAKE-DATE-1"]
    assert _text(tree, second + "/cac:Item/cac:AdditionalItemProperty[cbc:Name='Brand']/cbc:Value") == [
        "Aisha's Bakes"
    ]
    assert not tree.xpath("//cbc:BrandName", namespaces=NS)
    assert not tree.xpath("/*/cac:InvoiceLine[1]/cac:Item/cac:AdditionalItemProperty", namespaces=NS)
    classification = second + "/cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode"
    assert _text(tree, classification) == ["home-baking"]
    assert tree.xpath(classification, namespaces=NS)[0].get("listID") == "ZZZ"
    # outside the scope of VAT: one subtotal, category O without a rate, its reason
    assert _text(tree, "//cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["O"]
    assert not tree.xpath("//cbc:Percent", namespaces=NS)
    assert _text(tree, "//cac:TaxSubtotal/cac:TaxCategory/cac:TaxScheme/cbc:ID") == ["VAT"]
    assert not tree.xpath("//cac:ClassifiedTaxCategory/cbc:TaxExemptionReason", namespaces=NS)
    reference = "/*/cac:AdditionalDocumentReference[cbc:DocumentDescription='khutwa-sha256']"
    assert _text(tree, reference + "/cbc:ID") == [P.HASH]
    assert _text(tree, reference + "/cac:Attachment/cac:ExternalReference/cbc:URI") == [P.VERIFY_URL]
    # what EN 16931 does not have stays in the payload (attached to the same PDF)
    for absent in ("UUID", "IssueTime", "DocumentType", "BlockName", "BuildingNumber"):
        assert not tree.xpath(f"//cbc:{absent}", namespaces=NS), absent


@pytest.mark.parametrize("make", [v1_tax, v2_tax], ids=["v1", "v2"])
def test_tax_invoice(make: Callable[[], dict[str, Any]]) -> None:
    payload = make()
    tree = _tree(payload)
    assert _text(tree, SUPPLIER + "/cac:PartyTaxScheme/cbc:CompanyID") == ["BH200012345600002"]
    assert _text(tree, SUPPLIER + "/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID") == ["VAT"]
    assert _text(tree, "/*/cbc:Note") == ["معفى من ضريبة القيمة المضافة"]
    assert _text(tree, CUSTOMER + "/cac:PartyLegalEntity/cbc:CompanyID") == ["12345-1"]
    assert not tree.xpath(CUSTOMER + "/cac:PartyIdentification", namespaces=NS)
    assert _text(tree, CUSTOMER + "/cac:PostalAddress/cbc:StreetName") == [
        "Flat 21, Building 1, Road 2, Block 3, Seef"
    ]
    breakdown = [
        (
            _text(s, "cac:TaxCategory/cbc:ID")[0],
            _text(s, "cac:TaxCategory/cbc:Percent")[0],
            _text(s, "cac:TaxCategory/cbc:TaxExemptionReason"),
        )
        for s in tree.xpath("/*/cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)
    ]
    assert breakdown == [("S", "10.00", []), ("Z", "0.00", []), ("E", "0.00", ["Exempt from VAT"])]
    categories = _text(tree, "//cac:ClassifiedTaxCategory/cbc:ID")
    assert categories == [line["vat_category"] for line in payload["lines"]]
    assert _text(tree, "//cac:ClassifiedTaxCategory/cbc:Percent") == [
        line["vat_rate"] for line in payload["lines"]
    ]


def test_v1_tax_breakdown_sums_the_lines() -> None:
    tree = _tree(v1_tax())
    assert _text(tree, "//cac:TaxSubtotal/cbc:TaxableAmount") == ["41.000", "7.125", "8.000"]
    assert _text(tree, "//cac:TaxSubtotal/cbc:TaxAmount") == ["4.100", "0.000", "0.000"]


def test_vat_registered_buyer_has_its_vat_identifier_with_the_country_prefix() -> None:
    tree = _tree(v2_tax())
    assert _text(tree, CUSTOMER + "/cac:PartyTaxScheme/cbc:CompanyID") == ["BH220000000000009"]
    assert _text(tree, CUSTOMER + "/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID") == ["VAT"]
    already_prefixed = v2_tax()
    already_prefixed["customer"]["vat_number"] = "SA 300000000000003"
    tree = _tree(already_prefixed)
    assert _text(tree, CUSTOMER + "/cac:PartyTaxScheme/cbc:CompanyID") == ["SA300000000000003"]


def test_plain_invoice_names_no_vat_identifier_even_for_a_registered_buyer() -> None:
    payload = P.v2_payload([LineSpec()], customer=P.business(vat_number=P.BUYER_VAT_NUMBER))
    tree = _tree(payload)
    assert not tree.xpath("//cac:PartyTaxScheme", namespaces=NS)  # EN 16931 BR-O-02


def test_credit_note_references_the_invoice() -> None:
    payload = v1_credit_note()
    tree = _tree(payload)
    assert tree.tag == f"{{{NS['cn']}}}CreditNote"
    assert _text(tree, "/*/cbc:CreditNoteTypeCode") == ["381"]
    assert _text(tree, "/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == ["INV-2026-000040"]
    assert _text(tree, "/*/cbc:Note")[0] == payload["reason"]
    assert _text(tree, "//cac:CreditNoteLine/cbc:CreditedQuantity") == ["1.000"]
    assert not tree.xpath("//cac:InvoiceLine", namespaces=NS)


def test_credit_note_with_every_optional_part_validates() -> None:
    payload = v1_tamkeen()
    payload.update(
        type="credit_note",
        number="CRN-2026-000008",
        reason="Returned goods",
        references={**payload["references"], "invoice": "INV-2026-000040"},
    )
    xml = _build(payload)
    assert validate_ubl(xml) == []
    tree = etree.fromstring(xml)
    assert _text(tree, "/*/cac:PaymentMeans/cbc:PaymentDueDate") == ["2026-12-27"]
    assert _text(tree, "/*/cac:PaymentMeans/cbc:PaymentMeansCode") == ["1"]
    assert not tree.xpath("/*/cbc:DueDate", namespaces=NS)
    assert _text(tree, "/*/cac:CreditNoteLine[2]/cac:AllowanceCharge/cbc:Amount") == ["1.250"]


def test_references_are_supporting_documents() -> None:
    tree = _tree(v1_tamkeen())
    references = [
        (_text(r, "cbc:DocumentDescription")[0], _text(r, "cbc:ID")[0])
        for r in tree.xpath("/*/cac:AdditionalDocumentReference", namespaces=NS)
    ]
    assert references == [
        ("khutwa-sha256", P.HASH),
        ("quotation", "QUO-2026-000003"),
        ("delivery-note", "DLV-2026-000002"),
        ("delivery-note", "DLV-2026-000003"),
        ("tamkeen-application", "TMK-2026-000012"),
    ]
    # EN 16931 has room for one despatch advice reference (UBL-SR-03)
    assert _text(tree, "/*/cac:DespatchDocumentReference/cbc:ID") == ["DLV-2026-000002"]
    assert not tree.xpath("/*/cac:OriginatorDocumentReference", namespaces=NS)
    assert not tree.xpath("/*/cac:BillingReference", namespaces=NS)


def test_split_pair_shows_the_other_share_as_a_line_allowance() -> None:
    tamkeen_part, customer_part = v2_split()
    for payload, reason in (
        (tamkeen_part, "Share invoiced to the customer (30.00%)"),
        (customer_part, "Share invoiced to Tamkeen (70.00%)"),
    ):
        tree = _tree(payload)
        first = "/*/cac:InvoiceLine[1]"
        # the whole line: 3 × 4.285 = 12.855, discount 0.100, line net 12.755
        assert _text(tree, first + "/cbc:InvoicedQuantity") == ["3.000"]
        assert _text(tree, first + "/cac:Price/cbc:PriceAmount") == ["4.285"]
        assert _text(tree, first + "/cac:AllowanceCharge/cbc:AllowanceChargeReason") == ["Discount", reason]
        net, line_net = Decimal(payload["lines"][0]["net"]), Decimal(payload["lines"][0]["line_net"])
        assert line_net == Decimal("12.755")
        assert _text(tree, first + "/cac:AllowanceCharge/cbc:Amount") == ["0.100", f"{line_net - net:.3f}"]
        assert _text(
            tree, "/*/cac:AdditionalDocumentReference[cbc:DocumentDescription='split-partner']/cbc:ID"
        ) == [payload["references"]["split_partner"]]
    # the halves add up to the whole, line by line and in VAT
    assert Decimal(tamkeen_part["lines"][0]["net"]) == Decimal("8.929")  # 12.755 × 70%, half-up
    assert Decimal(customer_part["lines"][0]["net"]) == Decimal("3.826")
    assert Decimal(tamkeen_part["vat"]) + Decimal(customer_part["vat"]) == Decimal("1.276")  # 10% of 12.755


def test_customer_address_is_one_line() -> None:
    payload = P.v2_payload([LineSpec()], customer=P.individual(address="  Flat 3,\n Road 2,  Block 905 "))
    tree = _tree(payload)
    assert _text(tree, CUSTOMER + "/cac:PostalAddress/cbc:StreetName") == ["Flat 3, Road 2, Block 905"]


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1.5", "1.50", "1.5000", "1", "", "1,500", "١.٥٠٠", None, 1.5])
@pytest.mark.parametrize("make", [v1_plain, v2_plain], ids=["v1", "v2"])
def test_broken_amount_raises(make: Callable[[], dict[str, Any]], bad: Any) -> None:
    payload = make()
    payload["lines"][0]["unit_price"] = bad
    with pytest.raises(ValueError, match="three decimals"):
        _build(payload)


@pytest.mark.parametrize("key", ["subtotal", "vat", "total"])
def test_broken_total_raises(key: str) -> None:
    payload = v2_tax()
    payload[key] = payload[key][:-1]
    with pytest.raises(ValueError, match="three decimals"):
        _build(payload)


def _line0(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda p: p["lines"][0].update(changes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(total="999.000"), "total"),
        (lambda p: p.update(subtotal="1.000", total=f"{1 + Decimal(p['vat']):.3f}"), "subtotal"),
        (_line0(unit="crate"), "unknown unit"),
        (_line0(vat_category="X"), "VAT category"),
        (_line0(vat_category="S"), "rate"),
        (_line0(quantity="2,000"), "quantity"),
        (lambda p: p.update(currency="USD"), "currency"),
        (lambda p: p.update(type="receipt"), "document type"),
        (lambda p: p.update(v=3), "version"),
        (lambda p: p["customer"].update(name_ar="", name_en=""), "customer needs a name"),
        (lambda p: p["customer"].update(address={"area": "Riffa"}), "one line"),
    ],
)
@pytest.mark.parametrize("make", [v1_plain, v2_plain], ids=["v1", "v2"])
def test_inconsistent_payload_raises(
    make: Callable[[], dict[str, Any]], change: Callable[[dict[str, Any]], None], message: str
) -> None:
    payload = make()
    change(payload)
    with pytest.raises(ValueError, match=message):
        _build(payload)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_line0(net="2.000"), "net != quantity"),
        (_line0(discount="-1.000"), "negative discount"),
        (_line0(discount="99.000"), "larger than the line"),
        (_line0(unit_price="-1.000"), "negative price"),
        (lambda p: p.pop("vat_breakdown"), "vat_breakdown"),
        (lambda p: p["vat_breakdown"].reverse(), "S Z E O order"),
        (lambda p: p["vat_breakdown"].pop(), "S Z E O order"),
        (lambda p: p["vat_breakdown"][0].update(taxable="1.000"), "taxable"),
        (lambda p: p["vat_breakdown"][0].update(vat="0.001"), "VAT is not"),
        (lambda p: p["vat_breakdown"][1].update(vat="0.001"), "VAT is not"),
        (lambda p: p["vat_breakdown"][0].update(category="Q"), "unknown category"),
    ],
)
def test_inconsistent_v2_breakdown_raises(change: Callable[[dict[str, Any]], None], message: str) -> None:
    payload = v2_tax()
    change(payload)
    with pytest.raises(ValueError, match=message):
        _build(payload)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_line0(line_net="99.000"), "line_net"),
        (_line0(share="120.00"), "share"),
        (_line0(net="13.000"), "share of line_net"),
        (lambda p: p["lines"][1].pop("share"), "every line"),
        (lambda p: p.update(type="credit_note", reason="x", references={"invoice": "INV-1"}), "split share"),
    ],
)
def test_inconsistent_split_raises(change: Callable[[dict[str, Any]], None], message: str) -> None:
    payload = v2_split()[1]
    change(payload)
    with pytest.raises(ValueError, match=message):
        _build(payload)


def test_the_customers_share_of_a_split_takes_the_vat_of_the_whole_minus_tamkeens() -> None:
    # 10.005: VAT of the whole 1.001 (1.0005 half-up), Tamkeen's share 7.004 with VAT 0.700,
    # the customer's 3.001 with VAT 0.301 — not 0.300, 10% of 3.001.
    tamkeen_part, customer_part = P.v2_split_pair(
        [LineSpec(category="S", quantity="1.000", unit_price="10.005")], registered=True
    )
    assert (tamkeen_part["vat"], customer_part["vat"]) == ("0.700", "0.301")
    _build(tamkeen_part)
    _build(customer_part)
    # the same amounts on a document that is not the customer's share are refused
    customer_part["customer"]["is_tamkeen"] = True
    with pytest.raises(ValueError, match=r"VAT is not 0\.300"):
        _build(customer_part)
    tamkeen_part["customer"]["is_tamkeen"] = False
    with pytest.raises(ValueError, match="VAT is not"):
        _build(tamkeen_part)


@pytest.mark.parametrize("make", [v1_tax, v2_tax], ids=["v1", "v2"])
def test_unregistered_issuer_cannot_use_s_z_or_e(make: Callable[[], dict[str, Any]]) -> None:
    payload = make()
    payload["issuer"]["vat_number"] = None
    with pytest.raises(ValueError, match="not VAT-registered"):
        _build(payload)


def test_registered_issuer_cannot_use_o() -> None:
    payload = v1_plain()
    payload["issuer"]["vat_number"] = P.VAT_NUMBER
    with pytest.raises(ValueError, match="S, Z or E"):
        _build(payload)


def test_credit_note_needs_reason_and_invoice() -> None:
    without_reason = v1_credit_note()
    without_reason["reason"] = "  "
    with pytest.raises(ValueError, match="reason"):
        _build(without_reason)
    without_invoice = v1_credit_note()
    without_invoice["references"]["invoice"] = ""
    with pytest.raises(ValueError, match="invoice it credits"):
        _build(without_invoice)


def test_bad_hash_raises() -> None:
    with pytest.raises(ValueError, match="hash_hex"):
        invoice_xml(v1_plain(), hash_hex="AB" * 32, verify_url=P.VERIFY_URL)


@pytest.mark.parametrize("make", [v1_tamkeen, lambda: v2_split()[1]], ids=["v1", "v2"])
def test_payload_is_not_mutated(make: Callable[[], dict[str, Any]]) -> None:
    payload = make()
    before = copy.deepcopy(payload)
    _build(payload)
    assert payload == before


# --- XSD validation ----------------------------------------------------------------------------


def test_missing_id_is_reported() -> None:
    tree = _tree(v1_plain())
    tree.remove(tree.find(f"{{{NS['cbc']}}}ID"))
    errors = validate_ubl(etree.tostring(tree))
    assert errors
    assert any("ID" in error for error in errors), errors


def test_misordered_elements_are_reported() -> None:
    tree = _tree(v1_credit_note())
    line = tree.find(f"{{{NS['cac']}}}CreditNoteLine")
    item = line.find(f"{{{NS['cac']}}}Item")
    line.remove(item)
    line.insert(0, item)  # Item before ID
    assert validate_ubl(etree.tostring(tree))


def test_amount_without_currency_is_reported() -> None:
    tree = _tree(v2_tax())
    payable = tree.find(f".//{{{NS['cbc']}}}PayableAmount")
    del payable.attrib["currencyID"]
    assert any("currencyID" in error for error in validate_ubl(etree.tostring(tree)))


def test_not_xml_or_not_ubl() -> None:
    assert validate_ubl(b"<Invoice")[0].startswith("not well-formed XML")
    assert validate_ubl(b"<Order xmlns='urn:example'/>")[0].startswith("not a UBL 2.1")
