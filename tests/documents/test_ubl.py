"""UBL 2.1 XML of invoices and credit notes: no database, no Django."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from khutwa.documents.ubl import invoice_xml, validate_ubl

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
HASH = "ab" * 32
VERIFY_URL = "https://khutwa.bh/verify/7f0c6a52-6c1e-4f0e-9d55-2b1c4f5b9e01"
AMOUNT_TAGS = (
    "TaxAmount",
    "TaxableAmount",
    "LineExtensionAmount",
    "TaxExclusiveAmount",
    "TaxInclusiveAmount",
    "AllowanceTotalAmount",
    "PayableAmount",
    "Amount",
    "PriceAmount",
)


def _address() -> dict[str, str]:
    return {
        "building": "12",
        "road": "34",
        "block": "905",
        "area": "Riffa",
        "governorate": "Southern Governorate",
    }


def _line(**overrides: str) -> dict[str, str]:
    line = {
        "activity": "home-meals",
        "description": "Catering for 20 guests",
        "quantity": "2.000",
        "unit": "piece",
        "unit_price": "5.500",
        "discount": "0.000",
        "vat_category": "O",
        "vat_rate": "0.00",
        "net": "11.000",
        "vat": "0.000",
        "total": "11.000",
        "item_code": "",
        "brand": "",
    }
    line.update(overrides)
    return line


def _payload(
    lines: list[dict[str, str]], *, vat_number: str | None = None, **overrides: Any
) -> dict[str, Any]:
    subtotal = sum((Decimal(line["net"]) for line in lines), Decimal(0))
    vat = sum((Decimal(line["vat"]) for line in lines), Decimal(0))
    payload: dict[str, Any] = {
        "v": 1,
        "type": "invoice",
        "public_id": "7f0c6a52-6c1e-4f0e-9d55-2b1c4f5b9e01",
        "number": "INV-2026-000045",
        "issued_at": "2026-11-27T10:15:00+03:00",
        "issue_date": "2026-11-27",
        "currency": "BHD",
        "issuer": {
            "licence": "KH-2026-000166",
            "trade_name": "مطبخ عائشة",
            "trade_name_en": "Aisha's Kitchen",
            "vat_number": vat_number,
            "address": _address(),
        },
        "customer": {
            "kind": "individual",
            "cpr": "870303003",
            "cr_number": None,
            "name_ar": "فاطمة علي",
            "name_en": "Fatima Ali",
            "address": {"building": "", "road": "", "block": "", "area": "", "governorate": ""},
            "is_tamkeen_customer": False,
        },
        "lines": lines,
        "subtotal": f"{subtotal:.3f}",
        "vat": f"{vat:.3f}",
        "total": f"{subtotal + vat:.3f}",
        "due_date": "2026-12-27",
        "tamkeen_application_number": "",
        "references": {"quotation": "", "invoice": "", "delivery_notes": []},
        "reason": "",
        "chain": {"licence": "KH-2026-000166", "counter": 45, "previous_hash": "0" * 64},
    }
    payload.update(overrides)
    return payload


def non_vat_invoice() -> dict[str, Any]:
    return _payload(
        [
            _line(),
            _line(
                activity="home-baking",
                description="Date cake",
                quantity="3.000",
                unit="kg",
                unit_price="4.250",
                discount="1.250",
                net="11.500",
                total="11.500",
                item_code="CAKE-DATE-1",
                brand="Aisha's Bakes",
            ),
            _line(
                description="Cooking class",
                quantity="1.500",
                unit="hour",
                unit_price="8.000",
                net="12.000",
                total="12.000",
            ),
        ]
    )


def vat_invoice() -> dict[str, Any]:
    return _payload(
        [
            _line(vat_category="S", vat_rate="10.00", vat="1.100", total="12.100"),
            _line(
                description="Event hosting",
                quantity="1.000",
                unit="day",
                unit_price="30.000",
                vat_category="S",
                vat_rate="10.00",
                net="30.000",
                vat="3.000",
                total="33.000",
            ),
            _line(
                description="Export consignment",
                quantity="1.000",
                unit="service",
                unit_price="7.125",
                vat_category="Z",
                vat_rate="0.00",
                net="7.125",
                total="7.125",
            ),
        ],
        vat_number="200012345600002",
        customer={
            "kind": "business",
            "cpr": None,
            "cr_number": "12345-1",
            "name_ar": "شركة النخيل",
            "name_en": "Palm Co. W.L.L.",
            "address": {"building": "1", "road": "2", "block": "3", "area": "Seef", "governorate": "Capital"},
            "is_tamkeen_customer": False,
        },
    )


def credit_note() -> dict[str, Any]:
    return _payload(
        [_line(quantity="1.000", net="5.500", total="5.500", discount="0.000")],
        type="credit_note",
        number="CRN-2026-000007",
        due_date="",
        references={"quotation": "", "invoice": "INV-2026-000040", "delivery_notes": []},
        reason="Order cancelled by the customer — تم إلغاء الطلب",
    )


def tamkeen_invoice() -> dict[str, Any]:
    payload = non_vat_invoice()
    payload["tamkeen_application_number"] = "TMK-2026-000012"
    payload["customer"]["is_tamkeen_customer"] = True
    payload["references"] = {
        "quotation": "QUO-2026-000003",
        "invoice": "",
        "delivery_notes": ["DLV-2026-000002", "DLV-2026-000003"],
    }
    return payload


def _build(payload: dict[str, Any]) -> bytes:
    return invoice_xml(payload, hash_hex=HASH, verify_url=VERIFY_URL)


def _text(tree: etree._Element, path: str) -> list[str]:
    return [element.text for element in tree.xpath(path, namespaces=NS)]


ALL = {
    "non_vat_invoice": non_vat_invoice,
    "vat_invoice": vat_invoice,
    "credit_note": credit_note,
    "tamkeen_invoice": tamkeen_invoice,
}


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
def test_valid_against_the_ubl_xsd(make: Any) -> None:
    assert validate_ubl(_build(make())) == []


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
def test_amounts_have_three_decimals_and_bhd(make: Any) -> None:
    tree = etree.fromstring(_build(make()))
    amounts = [
        element for element in tree.iter(f"{{{NS['cbc']}}}*") if etree.QName(element).localname in AMOUNT_TAGS
    ]
    assert amounts
    for element in amounts:
        assert element.get("currencyID") == "BHD", etree.QName(element).localname
        assert len(element.text.split(".")[1]) == 3, (etree.QName(element).localname, element.text)


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
def test_totals_equal_the_payload(make: Any) -> None:
    payload = make()
    tree = etree.fromstring(_build(payload))
    total = "/*/cac:LegalMonetaryTotal/cbc:"
    assert _text(tree, total + "LineExtensionAmount") == [payload["subtotal"]]
    assert _text(tree, total + "TaxExclusiveAmount") == [payload["subtotal"]]
    assert _text(tree, total + "TaxInclusiveAmount") == [payload["total"]]
    assert _text(tree, total + "PayableAmount") == [payload["total"]]
    assert _text(tree, "/*/cac:TaxTotal/cbc:TaxAmount") == [payload["vat"]]
    # the VAT breakdown adds up to the document's figures
    taxable = _text(tree, "/*/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount")
    taxes = _text(tree, "/*/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount")
    assert sum(map(Decimal, taxable)) == Decimal(payload["subtotal"])
    assert sum(map(Decimal, taxes)) == Decimal(payload["vat"])
    # one line element per payload line, numbered from 1, with the payload's net amounts
    line_tag = "cac:CreditNoteLine" if payload["type"] == "credit_note" else "cac:InvoiceLine"
    assert _text(tree, f"/*/{line_tag}/cbc:ID") == [str(i) for i in range(1, len(payload["lines"]) + 1)]
    assert _text(tree, f"/*/{line_tag}/cbc:LineExtensionAmount") == [line["net"] for line in payload["lines"]]


def test_arabic_survives_as_utf8() -> None:
    xml = _build(non_vat_invoice())
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "مطبخ عائشة".encode() in xml  # raw UTF-8, not character references
    tree = etree.fromstring(xml)
    supplier = "/*/cac:AccountingSupplierParty/cac:Party"
    assert _text(tree, supplier + "/cac:PartyName/cbc:Name[@languageID='ar']") == ["مطبخ عائشة"]
    assert _text(tree, supplier + "/cac:PartyName/cbc:Name[@languageID='en']") == ["Aisha's Kitchen"]
    customer = "/*/cac:AccountingCustomerParty/cac:Party"
    assert _text(tree, customer + "/cac:PartyName/cbc:Name") == ["فاطمة علي", "Fatima Ali"]
    assert _text(tree, "/*/cbc:Note") == ["Not VAT-registered", "غير مسجل في ضريبة القيمة المضافة"]


def test_non_vat_invoice() -> None:
    tree = etree.fromstring(_build(non_vat_invoice()))
    assert tree.tag == f"{{{NS['inv']}}}Invoice"
    assert _text(tree, "/*/cbc:UBLVersionID") == ["2.1"]
    assert _text(tree, "/*/cbc:CustomizationID") == ["urn:khutwa.bh:document:1.0"]
    assert _text(tree, "/*/cbc:ID") == ["INV-2026-000045"]
    assert _text(tree, "/*/cbc:IssueDate") == ["2026-11-27"]
    assert _text(tree, "/*/cbc:IssueTime") == ["10:15:00+03:00"]
    assert _text(tree, "/*/cbc:DueDate") == ["2026-12-27"]
    assert _text(tree, "/*/cbc:InvoiceTypeCode") == ["380"]
    assert _text(tree, "/*/cbc:DocumentCurrencyCode") == ["BHD"]
    supplier = "/*/cac:AccountingSupplierParty/cac:Party"
    assert _text(tree, supplier + "/cac:PartyIdentification/cbc:ID[@schemeID='BH:KHUTWA-LICENCE']") == [
        "KH-2026-000166"
    ]
    assert not tree.xpath(supplier + "/cac:PartyTaxScheme", namespaces=NS)
    address = supplier + "/cac:PostalAddress/"
    assert _text(tree, address + "cbc:StreetName") == ["34"]
    assert _text(tree, address + "cbc:BlockName") == ["905"]
    assert _text(tree, address + "cbc:BuildingNumber") == ["12"]
    assert _text(tree, address + "cbc:CityName") == ["Riffa"]
    assert _text(tree, address + "cbc:CountrySubentity") == ["Southern Governorate"]
    assert _text(tree, address + "cac:Country/cbc:IdentificationCode") == ["BH"]
    customer = "/*/cac:AccountingCustomerParty/cac:Party"
    assert _text(tree, customer + "/cac:PartyIdentification/cbc:ID[@schemeID='BH:CPR']") == ["870303003"]
    assert not tree.xpath(customer + "/cac:PostalAddress", namespaces=NS)  # all-empty address
    # units, quantities, prices
    assert [q.get("unitCode") for q in tree.xpath("//cbc:InvoicedQuantity", namespaces=NS)] == [
        "H87",
        "KGM",
        "HUR",
    ]
    assert _text(tree, "//cbc:InvoicedQuantity") == ["2.000", "3.000", "1.500"]
    assert _text(tree, "//cac:Price/cbc:PriceAmount") == ["5.500", "4.250", "8.000"]
    # the discounted line carries an allowance; the others do not
    second = "/*/cac:InvoiceLine[2]"
    assert _text(tree, second + "/cac:AllowanceCharge/cbc:ChargeIndicator") == ["false"]
    assert _text(tree, second + "/cac:AllowanceCharge/cbc:Amount") == ["1.250"]
    assert len(tree.xpath("//cac:InvoiceLine/cac:AllowanceCharge", namespaces=NS)) == 1
    # line discounts are inside the line amounts, not a document-level allowance
    assert not tree.xpath("//cbc:AllowanceTotalAmount", namespaces=NS)
    assert _text(tree, second + "/cac:Item/cbc:Name") == ["Date cake"]
    assert _text(tree, second + "/cac:Item/cbc:Description") == ["Date cake"]
    assert _text(tree, second + "/cac:Item/cbc:BrandName") == ["Aisha's Bakes"]
    assert _text(tree, second + "/cac:Item/cac:SellersItemIdentification/cbc:ID") == ["CAKE-DATE-1"]
    assert not tree.xpath("/*/cac:InvoiceLine[1]/cac:Item/cbc:BrandName", namespaces=NS)
    assert not tree.xpath("/*/cac:InvoiceLine[1]/cac:Item/cac:SellersItemIdentification", namespaces=NS)
    # everything is outside the scope of VAT: one subtotal, category O without a rate
    assert _text(tree, "//cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["O"]
    assert not tree.xpath("//cac:TaxSubtotal/cac:TaxCategory/cbc:Percent", namespaces=NS)
    assert _text(tree, "//cac:TaxSubtotal/cac:TaxCategory/cac:TaxScheme/cbc:ID") == ["VAT"]
    # the document hash and where to verify it
    reference = "/*/cac:AdditionalDocumentReference[cbc:DocumentType='khutwa-sha256']"
    assert _text(tree, reference + "/cbc:ID") == [HASH]
    assert _text(tree, reference + "/cac:Attachment/cac:ExternalReference/cbc:URI") == [VERIFY_URL]


def test_vat_registered_invoice() -> None:
    tree = etree.fromstring(_build(vat_invoice()))
    supplier = "/*/cac:AccountingSupplierParty/cac:Party"
    assert _text(tree, supplier + "/cac:PartyTaxScheme/cbc:CompanyID") == ["200012345600002"]
    assert _text(tree, supplier + "/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID") == ["VAT"]
    assert not tree.xpath("/*/cbc:Note", namespaces=NS)
    customer = "/*/cac:AccountingCustomerParty/cac:Party"
    assert _text(tree, customer + "/cac:PartyIdentification/cbc:ID[@schemeID='BH:CR']") == ["12345-1"]
    assert _text(tree, customer + "/cac:PostalAddress/cbc:CityName") == ["Seef"]
    subtotals = tree.xpath("/*/cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)
    breakdown = [
        (
            _text(s, "cac:TaxCategory/cbc:ID")[0],
            _text(s, "cac:TaxCategory/cbc:Percent")[0],
            _text(s, "cbc:TaxableAmount")[0],
            _text(s, "cbc:TaxAmount")[0],
        )
        for s in subtotals
    ]
    assert breakdown == [("S", "10.00", "41.000", "4.100"), ("Z", "0.00", "7.125", "0.000")]
    assert _text(tree, "/*/cac:TaxTotal/cbc:TaxAmount") == ["4.100"]
    assert _text(tree, "//cac:InvoiceLine/cac:TaxTotal/cbc:TaxAmount") == ["1.100", "3.000", "0.000"]
    assert _text(tree, "//cac:ClassifiedTaxCategory/cbc:ID") == ["S", "S", "Z"]
    assert _text(tree, "//cac:ClassifiedTaxCategory/cbc:Percent") == ["10.00", "10.00", "0.00"]
    assert [q.get("unitCode") for q in tree.xpath("//cbc:InvoicedQuantity", namespaces=NS)] == [
        "H87",
        "DAY",
        "C62",
    ]


def test_credit_note_references_the_invoice() -> None:
    payload = credit_note()
    tree = etree.fromstring(_build(payload))
    assert tree.tag == f"{{{NS['cn']}}}CreditNote"
    assert _text(tree, "/*/cbc:CreditNoteTypeCode") == ["381"]
    assert _text(tree, "/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == ["INV-2026-000040"]
    assert _text(tree, "/*/cbc:Note")[0] == payload["reason"]
    assert _text(tree, "//cac:CreditNoteLine/cbc:CreditedQuantity") == ["1.000"]
    assert not tree.xpath("//cac:InvoiceLine", namespaces=NS)


def test_credit_note_with_every_optional_part_validates() -> None:
    """The credit note orders some elements differently from the invoice: exercise them all."""
    payload = tamkeen_invoice()
    payload.update(
        type="credit_note",
        number="CRN-2026-000008",
        reason="Returned goods",
        references={**payload["references"], "invoice": "INV-2026-000040"},
    )
    xml = _build(payload)
    assert validate_ubl(xml) == []
    tree = etree.fromstring(xml)
    assert _text(tree, "/*/cac:PaymentTerms/cbc:PaymentDueDate") == ["2026-12-27"]
    assert not tree.xpath("/*/cbc:DueDate", namespaces=NS)
    assert _text(tree, "/*/cac:CreditNoteLine[2]/cac:AllowanceCharge/cbc:Amount") == ["1.250"]


def test_tamkeen_and_references() -> None:
    tree = etree.fromstring(_build(tamkeen_invoice()))
    tamkeen = "/*/cac:AdditionalDocumentReference[cbc:DocumentType='tamkeen-application']/cbc:ID"
    assert _text(tree, tamkeen) == ["TMK-2026-000012"]
    assert _text(tree, "/*/cac:OriginatorDocumentReference/cbc:ID") == ["QUO-2026-000003"]
    assert _text(tree, "/*/cac:OriginatorDocumentReference/cbc:DocumentType") == ["quotation"]
    assert _text(tree, "/*/cac:DespatchDocumentReference/cbc:ID") == ["DLV-2026-000002", "DLV-2026-000003"]
    assert not tree.xpath("/*/cac:BillingReference", namespaces=NS)


@pytest.mark.parametrize("bad", ["1.5", "1.50", "1.5000", "1", "", "1,500", "١.٥٠٠", None, 1.5])
def test_broken_amount_raises(bad: Any) -> None:
    payload = non_vat_invoice()
    payload["lines"][0]["unit_price"] = bad
    with pytest.raises(ValueError, match="three decimals"):
        _build(payload)


@pytest.mark.parametrize("key", ["subtotal", "vat", "total"])
def test_broken_total_raises(key: str) -> None:
    payload = vat_invoice()
    payload[key] = payload[key][:-1]
    with pytest.raises(ValueError, match="three decimals"):
        _build(payload)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(total="999.000"), "total"),
        (lambda p: p.update(subtotal="1.000"), "subtotal"),
        (lambda p: p["lines"][0].update(unit="crate"), "unknown unit"),
        (lambda p: p["lines"][0].update(vat_category="X"), "VAT category"),
        (lambda p: p["lines"][0].update(vat_category="S"), "rate"),
        (lambda p: p.update(currency="USD"), "currency"),
        (lambda p: p.update(type="receipt"), "document type"),
    ],
)
def test_inconsistent_payload_raises(change: Any, message: str) -> None:
    payload = non_vat_invoice()
    change(payload)
    with pytest.raises(ValueError, match=message):
        _build(payload)


def test_unregistered_issuer_cannot_charge_vat() -> None:
    payload = vat_invoice()
    payload["issuer"]["vat_number"] = None
    with pytest.raises(ValueError, match="not VAT-registered"):
        _build(payload)


def test_credit_note_needs_reason_and_invoice() -> None:
    without_reason = credit_note()
    without_reason["reason"] = "  "
    with pytest.raises(ValueError, match="reason"):
        _build(without_reason)
    without_invoice = credit_note()
    without_invoice["references"]["invoice"] = ""
    with pytest.raises(ValueError, match="invoice it credits"):
        _build(without_invoice)


def test_bad_hash_raises() -> None:
    with pytest.raises(ValueError, match="hash_hex"):
        invoice_xml(non_vat_invoice(), hash_hex="AB" * 32, verify_url=VERIFY_URL)


def test_payload_is_not_mutated() -> None:
    payload = tamkeen_invoice()
    before = copy.deepcopy(payload)
    _build(payload)
    assert payload == before


def test_missing_id_is_reported() -> None:
    tree = etree.fromstring(_build(non_vat_invoice()))
    document_id = tree.find(f"{{{NS['cbc']}}}ID")
    tree.remove(document_id)
    errors = validate_ubl(etree.tostring(tree))
    assert errors
    assert any("ID" in error for error in errors), errors


def test_misordered_elements_are_reported() -> None:
    tree = etree.fromstring(_build(credit_note()))
    line = tree.find(f"{{{NS['cac']}}}CreditNoteLine")
    item = line.find(f"{{{NS['cac']}}}Item")
    line.remove(item)
    line.insert(0, item)  # Item before ID
    assert validate_ubl(etree.tostring(tree))


def test_amount_without_currency_is_reported() -> None:
    tree = etree.fromstring(_build(vat_invoice()))
    payable = tree.find(f".//{{{NS['cbc']}}}PayableAmount")
    del payable.attrib["currencyID"]
    assert any("currencyID" in error for error in validate_ubl(etree.tostring(tree)))


def test_not_xml_or_not_ubl() -> None:
    assert validate_ubl(b"<Invoice")[0].startswith("not well-formed XML")
    assert validate_ubl(b"<Order xmlns='urn:example'/>")[0].startswith("not a UBL 2.1")
