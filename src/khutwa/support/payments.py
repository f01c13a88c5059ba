"""Payout files for Tamkeen support: an ISO 20022 ``pain.001.001.03`` bank file and a finance CSV.

Pure functions over plain dataclasses, no Django: the service layer turns a ``PayoutBatch``
and its payouts into a :class:`Batch`, and the views serve :func:`pain001_xml` and
:func:`payments_csv`.

Money is ``Decimal`` BHD with three decimals (fils); floats are refused. Bahraini IBANs are
checked with schwifty, not by hand. "Nothing is paid twice" is shared with the database: a claim
has one payout (``Payout.claim`` is one-to-one), and here

* a batch cannot carry the same end-to-end id twice (compared case-insensitively);
* the output is a pure function of the :class:`Batch`: exporting a batch again gives the same
  bytes, with the same ``MsgId`` and ``EndToEndId`` values, so the bank's duplicate-file and
  duplicate-transaction checks recognise a second upload rather than paying it again.

Payment type choices for a domestic, non-SEPA BHD transfer: ``SvcLvl/Cd`` ``NURG``
(non-urgent, i.e. the ACH rather than RTGS), and charge bearer ``DEBT``: Tamkeen pays the
charges, so a beneficiary receives the whole amount granted (``SLEV`` only means something
under a scheme rulebook such as SEPA).
"""

from __future__ import annotations

import csv
import io
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal
from functools import cache
from pathlib import Path
from typing import Literal

import sepaxml
from lxml import etree
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
PAIN001_XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"

CURRENCY = "BHD"
SERVICE_LEVEL = "NURG"
CHARGE_BEARER = "DEBT"
BH_IBAN_LENGTH = 22
FILS = Decimal("0.001")
MAX_ID = 35  # Max35Text: MsgId, PmtInfId, EndToEndId
MAX_NAME = 140  # Max140Text: Nm
MAX_REMITTANCE = 140  # Max140Text: Ustrd
# ActiveOrHistoricCurrencyAndAmount and DecimalNumber allow 18 digits in all: with 3 decimals
# an amount (and the control sum) must stay below 10**15.
AMOUNT_LIMIT = Decimal(10) ** 15
# Money arithmetic does not depend on the caller's decimal context (its precision could round).
_MONEY = Context(prec=34)

CSV_HEADER = (
    "end_to_end_id",
    "creditor_name",
    "creditor_iban",
    "amount",
    "currency",
    "remittance",
    "execution_date",
    "message_id",
)

IbanRule = Literal["malformed", "country", "length", "checksum"]


class IbanError(ValueError):
    """An IBAN that cannot be paid to; ``rule`` says which check failed."""

    def __init__(self, rule: IbanRule, message: str) -> None:
        super().__init__(message)
        self.rule: IbanRule = rule


@dataclass(frozen=True)
class Debtor:
    """Tamkeen's own account, which the transfers are paid from."""

    name: str
    iban: str
    bic: str


@dataclass(frozen=True)
class Payment:
    end_to_end_id: str  # at most 35 characters, unique within the batch
    creditor_name: str
    creditor_iban: str
    amount: Decimal  # BHD, positive, at most 3 decimals
    remittance: str  # free text for the beneficiary's statement; "" for none


@dataclass(frozen=True)
class Batch:
    message_id: str  # at most 35 characters; also used as the PmtInfId
    created_at: datetime  # timezone-aware
    execution_date: date
    debtor: Debtor
    payments: list[Payment]


# --- IBAN -------------------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")
_ASCII_ALNUM = re.compile(r"[A-Z0-9]+")
_BH_SHAPE = "BHkk BBBB CCCC CCCC CCCC CC: 'BH', 2 check digits, a 4-letter bank code, 14 letters or digits"


def validate_bahraini_iban(value: str) -> str:
    """Return ``value`` as a compact Bahraini IBAN, or raise :class:`IbanError`.

    White space (including non-breaking spaces) is removed and letters are upper-cased. The
    country (``BH``) and the length (22) are checked first so that the message is precise; schwifty
    then checks the BBAN structure (``4!a14!c``), the ISO 7064 mod-97 check digits and whatever
    national checks it has for Bahrain. Arabic-Indic digits are refused, not converted.
    """
    if not isinstance(value, str):
        raise IbanError("malformed", f"Malformed IBAN: expected text, got {type(value).__name__}.")
    compact = _WHITESPACE.sub("", value).upper()
    if not compact:
        raise IbanError("malformed", "Malformed IBAN: it is empty.")
    if not _ASCII_ALNUM.fullmatch(compact):
        raise IbanError("malformed", "Malformed IBAN: only the letters A-Z and the digits 0-9 are allowed.")
    if compact[:2] != "BH":
        raise IbanError(
            "country",
            f"Not a Bahraini IBAN: it starts with '{compact[:2]}', a Bahraini IBAN starts with 'BH'.",
        )
    if len(compact) != BH_IBAN_LENGTH:
        raise IbanError(
            "length",
            f"Wrong length: a Bahraini IBAN has {BH_IBAN_LENGTH} characters, this one has {len(compact)}.",
        )
    try:
        iban = IBAN(compact, validate_bban=True)
    except schwifty_errors.InvalidLength as exc:
        raise IbanError("length", f"Wrong length for a Bahraini IBAN ({exc}).") from exc
    except schwifty_errors.InvalidCountryCode as exc:
        raise IbanError("country", f"Not a Bahraini IBAN ({exc}).") from exc
    except schwifty_errors.InvalidChecksumDigits as exc:
        raise IbanError(
            "checksum",
            f"Checksum failed: the check digits '{compact[2:4]}' do not match the rest of the IBAN "
            "(ISO 7064 mod-97); a character was probably mistyped.",
        ) from exc
    except schwifty_errors.InvalidBBANChecksum as exc:
        raise IbanError("checksum", f"Checksum failed: the national check digits are wrong ({exc}).") from exc
    except schwifty_errors.SchwiftyException as exc:
        raise IbanError(
            "malformed", f"Malformed Bahraini IBAN: {_which_part(compact)} ({_BH_SHAPE})."
        ) from exc
    if iban.country_code != "BH" or len(iban) != BH_IBAN_LENGTH:  # schwifty agrees with the checks above
        raise IbanError("malformed", f"Malformed Bahraini IBAN ({_BH_SHAPE}).")
    return iban.compact


def _which_part(compact: str) -> str:
    if not compact[2:4].isdigit():
        return "characters 3-4 must be the two check digits"
    if not compact[4:8].isalpha():
        return "characters 5-8 must be the letters of the bank code"
    return "it does not have the structure of a Bahraini IBAN"


def bank_of(iban: str) -> str:
    """The bank's name, else its BIC, as far as schwifty's registry knows it for the IBAN; else "".

    Raises :class:`IbanError` for an IBAN that :func:`validate_bahraini_iban` refuses. (schwifty
    ships no Bahraini bank registry today, so this is "" until it does.)
    """
    parsed = IBAN(validate_bahraini_iban(iban))
    if parsed.bank_name:
        return parsed.bank_name
    bic = parsed.bic
    return str(bic) if bic is not None else ""


# --- Checks shared by the XML and the CSV -------------------------------------------------------

# SWIFT "x" character set, starting with a letter or digit and not ending with a space: what
# every bank accepts in an identifier.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9/\-?:().,'+ ]*")
_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")  # the XSD's BICIdentifier
_NOT_XML_TEXT = {"Cc", "Cs"}


@dataclass(frozen=True)
class _Line:
    end_to_end_id: str
    creditor_name: str
    creditor_iban: str
    amount: Decimal
    remittance: str


@dataclass(frozen=True)
class _Checked:
    message_id: str
    created_at: datetime
    execution_date: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str
    lines: list[_Line]
    total: Decimal


def _text(what: str, value: object, limit: int) -> str:
    """Unicode text as a bank file can carry it: NFC, control characters as spaces, runs of white
    space folded, trimmed, cut to ``limit`` characters. Nothing is transliterated."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}.")
    text = unicodedata.normalize("NFC", value)
    text = "".join(
        " " if unicodedata.category(ch) in _NOT_XML_TEXT or ch in "\ufffe\uffff" else ch for ch in text
    )
    return _WHITESPACE.sub(" ", text).strip()[:limit].rstrip()


def _identifier(what: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} is missing.")
    if len(value) > MAX_ID:
        raise ValueError(f"{what} {value!r} is longer than {MAX_ID} characters.")
    if not _ID.fullmatch(value) or value.endswith(" "):
        raise ValueError(
            f"{what} {value!r} must start with a letter or digit and use only A-Z, a-z, 0-9, "
            "space and / - ? : ( ) . , ' +"
        )
    return value


def _amount(what: str, value: object) -> Decimal:
    if not isinstance(value, Decimal):
        raise ValueError(f"{what}: the amount must be a Decimal, not {type(value).__name__}.")
    if not value.is_finite():
        raise ValueError(f"{what}: the amount {value} is not a number.")
    if value <= 0:
        raise ValueError(f"{what}: the amount must be positive, not {value}.")
    if value >= AMOUNT_LIMIT:
        raise ValueError(f"{what}: the amount {value} is too large.")
    fils = value.quantize(FILS, context=_MONEY)
    if fils != value:
        raise ValueError(f"{what}: the amount {value} has more than 3 decimals (BHD is counted in fils).")
    return fils


def _check(batch: Batch) -> _Checked:
    message_id = _identifier("The batch's message id", batch.message_id)
    created_at = batch.created_at
    if not isinstance(created_at, datetime) or created_at.utcoffset() is None:
        raise ValueError("The batch's creation time must be a timezone-aware datetime.")
    execution_date = batch.execution_date
    if isinstance(execution_date, datetime) or not isinstance(execution_date, date):
        raise ValueError("The batch's execution date must be a date (not a datetime).")

    debtor = batch.debtor
    debtor_name = _text("The debtor's name", debtor.name, MAX_NAME)
    if not debtor_name:
        raise ValueError("The debtor's name is missing.")
    try:
        debtor_iban = validate_bahraini_iban(debtor.iban)
    except IbanError as exc:
        raise IbanError(exc.rule, f"The debtor's IBAN: {exc}") from exc
    debtor_bic = _WHITESPACE.sub("", debtor.bic).upper() if isinstance(debtor.bic, str) else ""
    try:
        BIC(debtor_bic, enforce_swift_compliance=True)
    except schwifty_errors.SchwiftyException as exc:
        raise ValueError(f"The debtor's BIC {debtor.bic!r} is not valid ({exc}).") from exc
    if not _BIC.fullmatch(debtor_bic):
        raise ValueError(f"The debtor's BIC {debtor.bic!r} is not valid in ISO 20022.")
    if debtor_bic[4:6] != "BH":
        raise ValueError(f"The debtor's BIC {debtor_bic} is not a Bahraini bank's (expected 'BH' in 5-6).")

    if not batch.payments:
        raise ValueError("A payout batch needs at least one payment.")
    seen: dict[str, int] = {}
    lines: list[_Line] = []
    for number, payment in enumerate(batch.payments, start=1):
        e2e = _identifier(f"Payment {number}: the end-to-end id", payment.end_to_end_id)
        what = f"Payment {number} ({e2e})"
        key = e2e.casefold()
        if key in seen:
            raise ValueError(f"{what}: the end-to-end id is already used by payment {seen[key]}.")
        seen[key] = number
        name = _text(f"{what}: the creditor's name", payment.creditor_name, MAX_NAME)
        if not name:
            raise ValueError(f"{what}: the creditor's name is missing.")
        try:
            iban = validate_bahraini_iban(payment.creditor_iban)
        except IbanError as exc:
            raise IbanError(exc.rule, f"{what}: the creditor's IBAN: {exc}") from exc
        amount = _amount(what, payment.amount)
        remittance = _text(f"{what}: the remittance text", payment.remittance, MAX_REMITTANCE)
        lines.append(_Line(e2e, name, iban, amount, remittance))

    total = Decimal(0)
    for line in lines:
        total = _MONEY.add(total, line.amount)
    if total >= AMOUNT_LIMIT:
        raise ValueError(f"The batch's control sum {total} is too large for one file.")
    return _Checked(
        message_id, created_at, execution_date, debtor_name, debtor_iban, debtor_bic, lines, total
    )


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(FILS, context=_MONEY):f}"


# --- pain.001.001.03 ----------------------------------------------------------------------------

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _path(parent: etree._Element, tags: str, text: str) -> etree._Element:
    """``_path(p, "DbtrAcct/Id/IBAN", x)``: nested elements, the last one holding ``text``."""
    *outer, last = tags.split("/")
    for tag in outer:
        parent = _el(parent, tag)
    return _el(parent, last, text)


def pain001_xml(batch: Batch) -> bytes:
    """The batch as an ISO 20022 ``pain.001.001.03`` CustomerCreditTransferInitiation, UTF-8.

    One payment information block (``PmtInfId`` = ``MsgId``), batch booking, ``NURG`` service
    level, charges borne by the debtor, amounts in BHD with 3 decimals. Names and remittance text
    keep their script (Arabic stays Arabic), with control characters turned into spaces and cut to
    the schema's 140 characters. Raises ``ValueError`` (``IbanError`` for an IBAN) naming the
    payment at fault for: an empty batch, a repeated end-to-end id, an amount that is not a
    positive Decimal with at most 3 decimals, an IBAN that is not a valid Bahraini one, or a bad
    identifier, BIC or date. The result is validated against the XSD before it is returned and is
    the same bytes every time for the same batch.
    """
    checked = _check(batch)
    count = str(len(checked.lines))
    total = _money(checked.total)

    root = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    initiation = _el(root, "CstmrCdtTrfInitn")

    header = _el(initiation, "GrpHdr")
    _el(header, "MsgId", checked.message_id)
    _el(header, "CreDtTm", _date_time(checked.created_at))
    _el(header, "NbOfTxs", count)
    _el(header, "CtrlSum", total)
    _path(header, "InitgPty/Nm", checked.debtor_name)

    info = _el(initiation, "PmtInf")
    _el(info, "PmtInfId", checked.message_id)
    _el(info, "PmtMtd", "TRF")
    _el(info, "BtchBookg", "true")
    _el(info, "NbOfTxs", count)
    _el(info, "CtrlSum", total)
    _path(info, "PmtTpInf/SvcLvl/Cd", SERVICE_LEVEL)
    _el(info, "ReqdExctnDt", checked.execution_date.isoformat())
    _path(info, "Dbtr/Nm", checked.debtor_name)
    account = _el(info, "DbtrAcct")
    _path(account, "Id/IBAN", checked.debtor_iban)
    _el(account, "Ccy", CURRENCY)
    _path(info, "DbtrAgt/FinInstnId/BIC", checked.debtor_bic)
    _el(info, "ChrgBr", CHARGE_BEARER)

    for line in checked.lines:
        transfer = _el(info, "CdtTrfTxInf")
        _path(transfer, "PmtId/EndToEndId", line.end_to_end_id)
        _el(_el(transfer, "Amt"), "InstdAmt", _money(line.amount), Ccy=CURRENCY)
        _path(transfer, "Cdtr/Nm", line.creditor_name)
        _path(transfer, "CdtrAcct/Id/IBAN", line.creditor_iban)
        if line.remittance:
            _path(transfer, "RmtInf/Ustrd", line.remittance)

    document = _XML_DECLARATION + etree.tostring(root, encoding="UTF-8", pretty_print=True)
    errors = validate_pain001(document)
    if errors:  # the checks above should make this impossible
        raise ValueError("The pain.001 file does not validate: " + "; ".join(errors))
    return document


def _date_time(moment: datetime) -> str:
    """xs:dateTime to the second, in the moment's own offset (UTC if that has seconds)."""
    offset = moment.utcoffset()
    if offset is None or offset % timedelta(minutes=1):
        moment = moment.astimezone(UTC)
    return moment.replace(microsecond=0).isoformat()


_schema_lock = threading.Lock()


@cache
def _schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(PAIN001_XSD), parser))


def validate_pain001(xml: bytes) -> list[str]:
    """Problems found validating ``xml`` against the ISO ``pain.001.001.03`` XSD; [] when valid.

    The document is parsed without entity expansion or network access, and one with a DOCTYPE
    is refused outright.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        document = etree.fromstring(xml, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        return [f"not well-formed XML: {exc}"]
    if document.getroottree().docinfo.doctype:
        return ["a DOCTYPE is not allowed in a pain.001 file"]
    schema = _schema()
    with _schema_lock:  # the error log lives on the shared schema object
        try:
            if schema.validate(document):
                return []
        except etree.XMLSchemaValidateError as exc:
            return [f"could not be validated: {exc}"]
        return [f"line {error.line}: {error.message}" for error in schema.error_log]


# --- CSV ----------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@")


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP: prefix such a cell with ')."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def payments_csv(batch: Batch) -> str:
    """The batch as CSV for Tamkeen's finance team, one row per payment, in batch order.

    Columns: ``end_to_end_id,creditor_name,creditor_iban,amount,currency,remittance,
    execution_date,message_id``. Amounts have 3 decimals ("12.345"), the currency is always
    ``BHD``, the date is ISO (YYYY-MM-DD). RFC 4180: the csv module's minimal quoting and CRLF
    line ends. The text is returned as ``str``: encode it as UTF-8 (Arabic names are kept); use
    "utf-8-sig" when the file is meant for Excel, which otherwise misreads UTF-8.

    There is no control-total line: every row is a payment, so summing or importing the amount
    column never counts the total twice. The count and control sum travel in the pain.001 file's
    ``NbOfTxs`` and ``CtrlSum``, and equal the number of rows and the sum of this file's amounts.

    The same checks as :func:`pain001_xml` apply (same errors), and names and remittance text are
    cleaned and cut the same way, so the two files reconcile. One difference: a name or remittance
    text starting with = + - or @ is prefixed with ' so that a spreadsheet does not evaluate it.
    """
    checked = _check(batch)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in checked.lines:
        writer.writerow(
            (
                line.end_to_end_id,
                _cell(line.creditor_name),
                line.creditor_iban,
                _money(line.amount),
                CURRENCY,
                _cell(line.remittance),
                checked.execution_date.isoformat(),
                checked.message_id,
            )
        )
    return buffer.getvalue()
