"""What went wrong, in the page's language: the documents service's error keys turned into the
form's fields and sentences ("Line 1, unit price: …", never ``lines[0].unit_price``), and the
verification's technical reasons turned into sentences a reader understands."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from khutwa.portal.fields import Problem

#: A document's fields: the service's key → the element of the form and the field's name.
DOCUMENT_FIELDS: dict[str, tuple[str, Promise]] = {
    "customer": ("id_customer", gettext_lazy("Customer")),
    "tamkeen_application_number": ("id_tamkeen", gettext_lazy("Tamkeen application number")),
    "tamkeen_share": ("id_tamkeen", gettext_lazy("Tamkeen application number")),
    "valid_until": ("id_valid_until", gettext_lazy("Valid until")),
    "due_date": ("id_due_date", gettext_lazy("Due date")),
    "references.quotation": ("id_quotation", gettext_lazy("Quotation")),
    "quotation": ("id_quotation", gettext_lazy("Quotation")),
    "references.partial": ("id_partial", gettext_lazy("Partial invoice")),
    "references.difference_reason": ("id_difference", gettext_lazy("Reason for a difference")),
    "references.invoice": ("id_invoice", gettext_lazy("Invoice it corrects")),
    "reason": ("id_reason", gettext_lazy("Reason")),
    "payment.method": ("id_method", gettext_lazy("Payment method")),
    "payment.reference": ("id_reference", gettext_lazy("Payment reference")),
    "payment.amount": ("id_amount", gettext_lazy("Amount received")),
    "references.allocations": ("id_alloc_0", gettext_lazy("Allocation to invoices")),
    "lines": ("l0d", gettext_lazy("Lines")),
}

#: A line's fields: the service's name → the suffix of the line's element id and its name.
LINE_FIELDS: dict[str, tuple[str, Promise]] = {
    "activity": ("a", gettext_lazy("activity")),
    "description": ("d", gettext_lazy("description")),
    "quantity": ("q", gettext_lazy("quantity")),
    "unit": ("u", gettext_lazy("unit")),
    "unit_price": ("p", gettext_lazy("unit price")),
    "discount": ("x", gettext_lazy("discount")),
    "vat_category": ("a", gettext_lazy("VAT category")),
    "item_code": ("c", gettext_lazy("item code")),
    "brand": ("c", gettext_lazy("brand")),
}

_LINE_KEY = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


#: A customer of the holder's book: the service's key → the element and the field's name.
CUSTOMER_FIELDS: dict[str, tuple[str, Promise]] = {
    "kind": ("id_kind", gettext_lazy("Kind")),
    "cpr": ("id_cpr", gettext_lazy("CPR number")),
    "cr_number": ("id_cr", gettext_lazy("Commercial registration number")),
    "name_ar": ("id_name_ar", gettext_lazy("Name in Arabic")),
    "name_en": ("id_name_en", gettext_lazy("Name in English")),
    "address": ("id_address", gettext_lazy("Address")),
    "phone": ("id_phone", gettext_lazy("Phone")),
    "email": ("id_email", gettext_lazy("E-mail")),
    "vat_number": ("id_vat_number", gettext_lazy("VAT account number")),
}

#: A statement of account.
STATEMENT_FIELDS: dict[str, tuple[str, Promise]] = {
    "customer": ("id_customer", gettext_lazy("Customer")),
    "from": ("id_from", gettext_lazy("From")),
    "to": ("id_to", gettext_lazy("To")),
}


def field_problems(
    errors: Mapping[str, Sequence[str]], fields: Mapping[str, tuple[str, Promise]]
) -> tuple[list[Problem], dict[str, list[str]]]:
    """A service's errors by key as the error summary and the errors beside each element."""
    return document_problems(errors, [], fields=fields)


def document_problems(
    errors: Mapping[str, Sequence[str]],
    rows: Sequence[int],
    *,
    fields: Mapping[str, tuple[str, Promise]] = DOCUMENT_FIELDS,
) -> tuple[list[Problem], dict[str, list[str]]]:
    """The error summary and the errors shown beside each element (by its id).

    ``rows`` gives, for the service's n-th line, the row of the form it came from (empty rows
    are not sent to the service, so ``lines[0]`` may be the form's second row)."""
    summary: list[Problem] = []
    inline: dict[str, list[str]] = {}
    for key, messages in errors.items():
        target, text = "", None
        if match := _LINE_KEY.match(key):
            index, name = int(match[1]), match[2]
            row = rows[index] if index < len(rows) else index
            suffix, label = LINE_FIELDS.get(name, ("d", None))
            target = f"l{row}{suffix}"
            for message in messages:
                text = (
                    _("Line %(line)s, %(field)s: %(message)s")
                    % {"line": row + 1, "field": label, "message": message}
                    if label
                    else _("Line %(line)s: %(message)s") % {"line": row + 1, "message": message}
                )
                summary.append(Problem(target, text))
                inline.setdefault(target, []).append(str(message))
            continue
        if key in fields:
            target, label = fields[key]
            for message in messages:
                summary.append(
                    Problem(target, _("%(field)s: %(message)s") % {"field": label, "message": message})
                )
                inline.setdefault(target, []).append(str(message))
            continue
        # The whole document (or a key the form has no field for): the sentence alone, never the key.
        summary += [Problem("", str(message)) for message in messages]
    return summary, inline


#: Verification reasons (English, technical, from khutwa.trust and khutwa.documents) → what
#: they mean for the reader. The first pattern that matches gives the sentence.
_REASONS: list[tuple[re.Pattern[str], Promise]] = [
    (
        re.compile(r"public log"),
        gettext_lazy("The document is missing from the public log: it was not recorded when it was issued."),
    ),
    (
        re.compile(r"digest mismatch|signed bytes were changed|time-stamped bytes were changed"),
        gettext_lazy("The PDF file was changed after it was signed."),
    ),
    (
        re.compile(r"changed after it|does not cover it all"),
        gettext_lazy("Content was added to the PDF file after it was signed."),
    ),
    (
        re.compile(r"cryptographic signature does not verify|signature does not match"),
        gettext_lazy("The electronic signature does not match: the document is not the one Khutwa signed."),
    ),
    (
        re.compile(r"not trusted|trusted root|certificate|revoked|compromised"),
        gettext_lazy("The signature's certificate is not one Khutwa trusts for this date."),
    ),
    (re.compile(r"time-stamp"), gettext_lazy("The signature's time-stamp does not verify.")),
    (
        re.compile(r"could not be validated|malformed"),
        gettext_lazy("The signature could not be read: the file is damaged or not from Khutwa."),
    ),
    (
        re.compile(r"hash differs|hash is not|differs from the sealed|is sealed but not|is stored but not"),
        gettext_lazy("The document's content does not match what was sealed when it was issued."),
    ),
    (
        re.compile(r"chain|counter"),
        gettext_lazy("The licence's chain of documents is broken at this document."),
    ),
    (re.compile(r"key id"), gettext_lazy("The document was signed with a key Khutwa does not accept.")),
    (
        re.compile(r"official site|signed for the site|QR"),
        gettext_lazy(
            "The QR code does not lead to Khutwa's official site or does not belong to this document."
        ),
    ),
    (re.compile(r"no such document"), gettext_lazy("No such document was issued on Khutwa.")),
    (
        re.compile(r"PDF's content differs"),
        gettext_lazy("The PDF's content differs from the document Khutwa issued."),
    ),
]


def verification_reason(reason: str) -> str:
    """One verification reason as a sentence in the page's language."""
    for pattern, sentence in _REASONS:
        if pattern.search(reason):
            return str(sentence)
    return _("The document does not verify.")


def verification_reasons(reasons: Sequence[str]) -> list[str]:
    """The reasons as sentences, each said once, in the order first met."""
    return list(dict.fromkeys(verification_reason(r) for r in reasons))
