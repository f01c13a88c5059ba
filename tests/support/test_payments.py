"""Payout files: Bahraini IBANs, pain.001.001.03 XML and the finance CSV (no Django, no database)."""

from __future__ import annotations

import copy
import csv
import io
import string
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from khutwa.support.payments import (
    CSV_HEADER,
    NAMESPACE,
    Batch,
    Debtor,
    IbanError,
    Payment,
    bank_of,
    pain001_xml,
    payments_csv,
    validate_bahraini_iban,
    validate_pain001,
)

NS = {"p": NAMESPACE}
STANDARD = "BH67BMAG00001299123456"  # the IBAN registry's example for Bahrain
BAHRAIN = ZoneInfo("Asia/Bahrain")


def with_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits computed here, independently of schwifty."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def is_mod97_valid(iban: str) -> bool:
    return int("".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])) % 97 == 1


NBOB = with_check_digits("BH", "NBOB00001234567890")
BBKU = with_check_digits("BH", "BBKU0000ABCD123456")  # the account part may carry letters
KFHB = with_check_digits("BH", "KFHB12345678901234")


# --- IBAN -------------------------------------------------------------------------------------


@pytest.mark.parametrize("iban", [STANDARD, NBOB, BBKU, KFHB])
def test_valid_bahraini_ibans(iban: str) -> None:
    assert is_mod97_valid(iban)
    assert validate_bahraini_iban(iban) == iban


@pytest.mark.parametrize(
    "typed",
    [
        "BH67 BMAG 0000 1299 1234 56",
        " bh67bmag00001299123456 ",
        "bh67\tbmag\n0000 1299 1234 56",
        "BH67\u00a0BMAG\u00a000001299123456",  # non-breaking spaces from a copied statement
    ],
)
def test_iban_is_normalised(typed: str) -> None:
    assert validate_bahraini_iban(typed) == STANDARD


@pytest.mark.parametrize(
    ("value", "rule", "words"),
    [
        ("GB82WEST12345698765432", "country", "Not a Bahraini IBAN"),  # a valid British IBAN
        ("DE89370400440532013000", "country", "Not a Bahraini IBAN"),
        ("SA0380000000608010167519", "country", "'SA'"),
        ("BH67BMAG0000129912345", "length", "22 characters, this one has 21"),
        ("BH67BMAG000012991234567", "length", "this one has 23"),
        ("BH67", "length", "this one has 4"),
        ("BH68BMAG00001299123456", "checksum", "Checksum failed"),
        ("BH67BMAG00001299123465", "checksum", "Checksum failed"),  # two digits swapped
        ("BH6XBMAG00001299123456", "malformed", "check digits"),
        ("BH67BM4G00001299123456", "malformed", "bank code"),
        ("BH67BMAG-0001299123456", "malformed", "only the letters A-Z and the digits 0-9"),
        ("BH٦٧BMAG00001299123456", "malformed", "only the letters A-Z and the digits 0-9"),
        ("", "malformed", "empty"),
        ("   ", "malformed", "empty"),
    ],
)
def test_invalid_ibans_say_which_rule_failed(value: str, rule: str, words: str) -> None:
    with pytest.raises(IbanError, match=words) as raised:
        validate_bahraini_iban(value)
    assert raised.value.rule == rule
    assert isinstance(raised.value, ValueError)


def test_letters_in_the_bank_code_are_checked_even_with_a_right_checksum() -> None:
    digit_in_bank_code = with_check_digits("BH", "BM4G00001299123456")
    assert is_mod97_valid(digit_in_bank_code)
    with pytest.raises(IbanError, match="bank code") as raised:
        validate_bahraini_iban(digit_in_bank_code)
    assert raised.value.rule == "malformed"


def test_check_digits_00_01_99_are_refused() -> None:
    # Genuine IBANs have check digits 02..98; the mod-97 aliases must not slip through.
    for alias in ("00", "01", "99"):
        with pytest.raises(IbanError) as raised:
            validate_bahraini_iban("BH" + alias + STANDARD[4:])
        assert raised.value.rule == "checksum"


def test_non_text_iban_is_malformed() -> None:
    with pytest.raises(IbanError, match="expected text") as raised:
        validate_bahraini_iban(None)  # type: ignore[arg-type]
    assert raised.value.rule == "malformed"


@settings(max_examples=60, deadline=None)
@given(
    bank=st.text(string.ascii_uppercase, min_size=4, max_size=4),
    account=st.text(string.ascii_uppercase + string.digits, min_size=14, max_size=14),
    position=st.integers(min_value=4, max_value=21),
)
def test_mod97_property(bank: str, account: str, position: int) -> None:
    iban = with_check_digits("BH", bank + account)
    assert validate_bahraini_iban(iban) == iban
    # Any single-character change of the BBAN breaks the checksum (or the structure).
    # Same kind of character (digit for digit, letter for letter): mod-97 catches every such
    # substitution; a letter for a digit changes the numeric length and is caught only mostly.
    original = iban[position]
    pool = "73" if original.isdigit() else "QR"
    replacement = pool[0] if original != pool[0] else pool[1]
    altered = iban[:position] + replacement + iban[position + 1 :]
    with pytest.raises(IbanError) as raised:
        validate_bahraini_iban(altered)
    assert raised.value.rule == "checksum"


def test_bank_of() -> None:
    assert isinstance(bank_of(STANDARD), str)  # schwifty has no Bahraini registry yet: ""
    with pytest.raises(IbanError):
        bank_of("GB82WEST12345698765432")


# --- pain.001 ---------------------------------------------------------------------------------


def make_batch(**changes: object) -> Batch:
    batch = Batch(
        message_id="KHT-PB-2025-0007",
        created_at=datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=BAHRAIN),
        execution_date=date(2025, 3, 3),
        debtor=Debtor(name="Tamkeen - Labour Fund", iban=STANDARD, bic="BMAGBHBM"),
        payments=[
            Payment(
                "KHT-CLM-000101", "فاطمة عبدالله الحداد", NBOB, Decimal("150.000"), "دعم تمكين KHT-APP-101"
            ),
            Payment(
                "KHT-CLM-000102",
                "مخبز أم محمد المنزلي",
                BBKU,
                Decimal("75.25"),
                "Tamkeen support KHT-APP-102",
            ),
            Payment("KHT-CLM-000103", "عائشة يوسف", "bh" + KFHB[2:].lower(), Decimal("1200.125"), ""),
        ],
    )
    return replace(batch, **changes)  # type: ignore[arg-type]


def with_payment(index: int, **changes: object) -> Batch:
    batch = make_batch()
    payments = list(batch.payments)
    payments[index] = replace(payments[index], **changes)  # type: ignore[arg-type]
    return replace(batch, payments=payments)


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text for element in root.iterfind(path, NS)]


def test_three_payments_with_arabic_names_validate_against_the_iso_schema() -> None:
    xml = pain001_xml(make_batch())
    assert validate_pain001(xml) == []
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = parse(xml)
    assert root.tag == f"{{{NAMESPACE}}}Document"
    assert texts(root, ".//p:Cdtr/p:Nm") == ["فاطمة عبدالله الحداد", "مخبز أم محمد المنزلي", "عائشة يوسف"]
    assert "فاطمة".encode() in xml  # UTF-8, not character references


def test_counts_control_sum_and_currency() -> None:
    root = parse(pain001_xml(make_batch()))
    assert texts(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs") == ["3"]
    assert texts(root, "p:CstmrCdtTrfInitn/p:PmtInf/p:NbOfTxs") == ["3"]
    assert texts(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum") == ["1425.375"]
    assert texts(root, "p:CstmrCdtTrfInitn/p:PmtInf/p:CtrlSum") == ["1425.375"]
    amounts = root.findall(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS)
    assert [a.text for a in amounts] == ["150.000", "75.250", "1200.125"]
    assert {a.get("Ccy") for a in amounts} == {"BHD"}
    assert sum(Decimal(a.text or "") for a in amounts) == Decimal("1425.375")
    assert texts(root, ".//p:DbtrAcct/p:Ccy") == ["BHD"]


def test_group_header_and_payment_information() -> None:
    root = parse(pain001_xml(make_batch()))
    assert texts(root, ".//p:GrpHdr/p:MsgId") == ["KHT-PB-2025-0007"]
    assert texts(root, ".//p:GrpHdr/p:CreDtTm") == ["2025-03-01T09:30:15+03:00"]
    assert texts(root, ".//p:GrpHdr/p:InitgPty/p:Nm") == ["Tamkeen - Labour Fund"]
    assert texts(root, ".//p:PmtInf/p:PmtInfId") == ["KHT-PB-2025-0007"]
    assert texts(root, ".//p:PmtInf/p:PmtMtd") == ["TRF"]
    assert texts(root, ".//p:PmtInf/p:BtchBookg") == ["true"]
    assert texts(root, ".//p:PmtTpInf/p:SvcLvl/p:Cd") == ["NURG"]
    assert texts(root, ".//p:PmtInf/p:ReqdExctnDt") == ["2025-03-03"]
    assert texts(root, ".//p:Dbtr/p:Nm") == ["Tamkeen - Labour Fund"]
    assert texts(root, ".//p:DbtrAcct/p:Id/p:IBAN") == [STANDARD]
    assert texts(root, ".//p:DbtrAgt/p:FinInstnId/p:BIC") == ["BMAGBHBM"]
    assert texts(root, ".//p:PmtInf/p:ChrgBr") == ["DEBT"]
    assert texts(root, ".//p:PmtId/p:EndToEndId") == ["KHT-CLM-000101", "KHT-CLM-000102", "KHT-CLM-000103"]
    assert texts(root, ".//p:CdtrAcct/p:Id/p:IBAN") == [NBOB, BBKU, KFHB]  # compact, upper-case
    assert texts(root, ".//p:RmtInf/p:Ustrd") == ["دعم تمكين KHT-APP-101", "Tamkeen support KHT-APP-102"]
    assert len(root.findall(".//p:CdtTrfTxInf", NS)) == 3


def test_exporting_twice_gives_identical_bytes() -> None:
    batch = make_batch()
    first = pain001_xml(batch)
    assert pain001_xml(batch) == first
    assert pain001_xml(copy.deepcopy(batch)) == first
    assert payments_csv(batch) == payments_csv(copy.deepcopy(batch))


def test_creation_time_in_utc_keeps_its_offset() -> None:
    batch = make_batch(created_at=datetime(2025, 3, 1, 6, 30, tzinfo=UTC))
    root = parse(pain001_xml(batch))
    assert texts(root, ".//p:GrpHdr/p:CreDtTm") == ["2025-03-01T06:30:00+00:00"]


def test_odd_offsets_are_written_in_utc() -> None:
    lmt = timezone(timedelta(hours=3, minutes=22, seconds=20))  # what pytz's LMT would give
    batch = make_batch(created_at=datetime(2025, 3, 1, 9, 52, 20, tzinfo=lmt))
    root = parse(pain001_xml(batch))
    assert texts(root, ".//p:GrpHdr/p:CreDtTm") == ["2025-03-01T06:30:00+00:00"]


def test_amounts_do_not_depend_on_the_decimal_context() -> None:
    with localcontext() as context:
        context.prec = 4
        root = parse(pain001_xml(make_batch()))
    assert texts(root, ".//p:GrpHdr/p:CtrlSum") == ["1425.375"]
    assert texts(root, ".//p:InstdAmt") == ["150.000", "75.250", "1200.125"]


def test_long_names_and_remittance_are_cut_to_the_schema_limits() -> None:
    batch = with_payment(0, creditor_name="ح" * 200, remittance="x" * 300)
    xml = pain001_xml(batch)
    assert validate_pain001(xml) == []
    root = parse(xml)
    assert texts(root, ".//p:Cdtr/p:Nm")[0] == "ح" * 140
    assert texts(root, ".//p:RmtInf/p:Ustrd")[0] == "x" * 140


def test_control_characters_become_spaces() -> None:
    batch = with_payment(1, creditor_name="  مخبز\n\tأم\x00محمد\x1b ", remittance="line one\r\nline two")
    xml = pain001_xml(batch)
    assert validate_pain001(xml) == []
    root = parse(xml)
    assert texts(root, ".//p:Cdtr/p:Nm")[1] == "مخبز أم محمد"
    assert texts(root, ".//p:RmtInf/p:Ustrd")[1] == "line one line two"


def test_trailing_zero_decimals_are_fine() -> None:
    root = parse(pain001_xml(with_payment(0, amount=Decimal("150.0000"))))
    assert texts(root, ".//p:InstdAmt")[0] == "150.000"


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("0.000"), Decimal("-5.000"), Decimal("-0.001")])
def test_non_positive_amounts_are_refused(amount: Decimal) -> None:
    with pytest.raises(ValueError, match=r"Payment 2 \(KHT-CLM-000102\): the amount must be positive"):
        pain001_xml(with_payment(1, amount=amount))


def test_four_decimals_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Payment 3 \(KHT-CLM-000103\): .*more than 3 decimals"):
        pain001_xml(with_payment(2, amount=Decimal("1200.1255")))


@pytest.mark.parametrize("amount", [12.5, 12, "12.500", Decimal("NaN"), Decimal("Infinity")])
def test_amounts_that_are_not_finite_decimals_are_refused(amount: object) -> None:
    with pytest.raises(ValueError, match=r"Payment 1 \(KHT-CLM-000101\)"):
        pain001_xml(with_payment(0, amount=amount))


def test_too_large_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        pain001_xml(with_payment(0, amount=Decimal("1000000000000000.000")))


@pytest.mark.parametrize("duplicate", ["KHT-CLM-000101", "kht-clm-000101"])
def test_duplicate_end_to_end_ids_are_refused(duplicate: str) -> None:
    batch = with_payment(2, end_to_end_id=duplicate)
    with pytest.raises(ValueError, match="already used by payment 1"):
        pain001_xml(batch)
    with pytest.raises(ValueError, match="already used by payment 1"):
        payments_csv(batch)


def test_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one payment"):
        pain001_xml(make_batch(payments=[]))
    with pytest.raises(ValueError, match="at least one payment"):
        payments_csv(make_batch(payments=[]))


def test_bad_creditor_iban_is_refused_naming_the_payment() -> None:
    with pytest.raises(
        IbanError, match=r"Payment 2 \(KHT-CLM-000102\): the creditor's IBAN: Checksum"
    ) as raised:
        pain001_xml(with_payment(1, creditor_iban="BH68BMAG00001299123456"))
    assert raised.value.rule == "checksum"
    with pytest.raises(IbanError, match="Not a Bahraini IBAN"):
        pain001_xml(with_payment(0, creditor_iban="GB82WEST12345698765432"))


def test_bad_debtor_iban_and_bic_are_refused() -> None:
    debtor = make_batch().debtor
    with pytest.raises(IbanError, match="debtor's IBAN: Wrong length"):
        pain001_xml(make_batch(debtor=replace(debtor, iban="BH67BMAG0000129912345")))
    for bic in ("BMAGBHB", "BMAG1HBM", "BMAGBH1O", ""):
        with pytest.raises(ValueError, match="BIC"):
            pain001_xml(make_batch(debtor=replace(debtor, bic=bic)))
    with pytest.raises(ValueError, match="not a Bahraini bank"):
        pain001_xml(make_batch(debtor=replace(debtor, bic="NWBKGB2L")))
    root = parse(pain001_xml(make_batch(debtor=replace(debtor, bic=" bmagbhbmxxx"))))
    assert texts(root, ".//p:BIC") == ["BMAGBHBMXXX"]


@pytest.mark.parametrize(
    ("end_to_end_id", "words"),
    [
        ("", "missing"),
        ("K" * 36, "longer than 35"),
        ("KHT_CLM_1", "must start with"),
        ("-KHT", "must start with"),
    ],
)
def test_bad_end_to_end_ids_are_refused(end_to_end_id: str, words: str) -> None:
    with pytest.raises(ValueError, match=f"Payment 1: the end-to-end id.*{words}"):
        pain001_xml(with_payment(0, end_to_end_id=end_to_end_id))


def test_35_character_end_to_end_id_is_fine() -> None:
    assert validate_pain001(pain001_xml(with_payment(0, end_to_end_id="K" * 35))) == []


def test_empty_creditor_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Payment 1 \(KHT-CLM-000101\): the creditor's name is missing"):
        pain001_xml(with_payment(0, creditor_name=" \n "))


def test_naive_creation_time_and_datetime_execution_date_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        pain001_xml(make_batch(created_at=datetime(2025, 3, 1, 9, 30)))  # noqa: DTZ001
    with pytest.raises(ValueError, match="execution date"):
        pain001_xml(make_batch(execution_date=datetime(2025, 3, 3, tzinfo=BAHRAIN)))


def test_validate_pain001_reports_schema_errors() -> None:
    root = parse(pain001_xml(make_batch()))
    amount = root.find(".//p:InstdAmt", NS)
    assert amount is not None
    amount.set("Ccy", "bhd")
    header = root.find(".//p:GrpHdr", NS)
    assert header is not None
    nb = header.find("p:NbOfTxs", NS)
    assert nb is not None
    header.remove(nb)
    errors = validate_pain001(etree.tostring(root))
    assert len(errors) == 2
    assert any("Ccy" in error for error in errors)
    assert any("NbOfTxs" in error for error in errors)


def test_validate_pain001_reports_malformed_xml() -> None:
    assert validate_pain001(b"<Document>")[0].startswith("not well-formed XML")
    assert validate_pain001(b"") != []


def test_validate_pain001_does_not_expand_entities() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">&x;</Document>'
    )
    errors = validate_pain001(xxe)
    assert errors == ["a DOCTYPE is not allowed in a pain.001 file"]


# --- CSV --------------------------------------------------------------------------------------


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_parses_back_to_the_same_values() -> None:
    batch = make_batch()
    rows = read_csv(payments_csv(batch))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[0] == [
        "end_to_end_id",
        "creditor_name",
        "creditor_iban",
        "amount",
        "currency",
        "remittance",
        "execution_date",
        "message_id",
    ]
    assert len(rows) == 1 + len(batch.payments)  # no control-total line
    for row, payment in zip(rows[1:], batch.payments, strict=True):
        assert row == [
            payment.end_to_end_id,
            payment.creditor_name,
            validate_bahraini_iban(payment.creditor_iban),
            f"{payment.amount:.3f}",
            "BHD",
            payment.remittance,
            "2025-03-03",
            "KHT-PB-2025-0007",
        ]
    assert [row[3] for row in rows[1:]] == ["150.000", "75.250", "1200.125"]
    # The rows add up to the bank file's control sum.
    ctrl_sum = texts(parse(pain001_xml(batch)), ".//p:GrpHdr/p:CtrlSum")[0]
    assert sum(Decimal(row[3]) for row in rows[1:]) == Decimal(ctrl_sum)


def test_csv_is_rfc4180() -> None:
    batch = with_payment(0, creditor_name='Salman "Sal" Bakery, Muharraq', remittance="claim, 101")
    text = payments_csv(batch)
    assert text.endswith("\r\n")
    assert text.count("\r\n") == 4
    assert '"Salman ""Sal"" Bakery, Muharraq"' in text
    rows = read_csv(text)
    assert rows[1][1] == 'Salman "Sal" Bakery, Muharraq'
    assert rows[1][5] == "claim, 101"
    assert "مخبز أم محمد المنزلي".encode() in text.encode("utf-8")


def test_csv_neutralises_spreadsheet_formulas() -> None:
    batch = with_payment(0, creditor_name='=HYPERLINK("http://x")', remittance="+1 bonus")
    rows = read_csv(payments_csv(batch))
    assert rows[1][1] == '\'=HYPERLINK("http://x")'
    assert rows[1][5] == "'+1 bonus"


def test_csv_refuses_what_the_xml_refuses() -> None:
    with pytest.raises(ValueError, match="more than 3 decimals"):
        payments_csv(with_payment(0, amount=Decimal("1.0001")))
    with pytest.raises(IbanError):
        payments_csv(with_payment(0, creditor_iban="BH67BMAG00001299123457"))
