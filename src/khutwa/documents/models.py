"""Official documents: the holder's customers, and the quotations, invoices, credit notes,
delivery notes, receipts and statements issued to them — numbered without gaps, chained,
signed and never changed once issued."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from khutwa import prebuilt
from khutwa.accounts.validators import validate_cpr, validate_vat_number
from khutwa.display import name_in_language


class CustomerKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual (CPR)")
    BUSINESS = "business", _("Business (commercial registration)")


class Customer(models.Model):
    """An entry in a holder's customer book."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customers", verbose_name=_("holder")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=CustomerKind.choices)
    cpr = models.CharField(_("CPR number"), max_length=9, blank=True, validators=[validate_cpr])
    cr_number = models.CharField(_("commercial registration number"), max_length=20, blank=True)
    name_ar = models.CharField(_("name in Arabic"), max_length=200, blank=True)
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    vat_number = models.CharField(
        _("VAT account number"),
        max_length=15,
        blank=True,
        validators=[validate_vat_number],
        help_text=_("Only for a customer registered for VAT: tax invoices show it."),
    )
    is_tamkeen_customer = models.BooleanField(_("Tamkeen customer"), default=False)
    is_tamkeen = models.BooleanField(
        _("the Labour Fund Tamkeen itself"),
        default=False,
        help_text=_("Receives Tamkeen's share of split invoices."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name_en", "name_ar", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "cpr"], condition=~Q(cpr=""), name="customer_unique_cpr_per_holder"
            ),
            models.UniqueConstraint(
                fields=["owner", "cr_number"],
                condition=~Q(cr_number=""),
                name="customer_unique_cr_per_holder",
            ),
        ]
        # The documents addressed to a user: their entries in every holder's book.
        indexes = [
            models.Index(fields=["cpr"], name="customer_cpr"),
            models.Index(fields=["cr_number"], name="customer_cr_number"),
            # A holder's book in name order (selectors.CUSTOMERS_ORDER): its pages and the list's filter.
            models.Index(fields=["owner", "name_en", "name_ar", "id"], name="customer_book"),
        ]

    def __str__(self) -> str:
        # The name in the page's language, else the other (khutwa.display).
        return name_in_language(self.name_ar, self.name_en)

    @property
    def identifier(self) -> str:
        return self.cpr if self.kind == CustomerKind.INDIVIDUAL else self.cr_number


class DocumentType(models.TextChoices):
    QUOTATION = "quotation", _("Quotation")
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")
    DELIVERY_NOTE = "delivery_note", _("Delivery note")
    RECEIPT = "receipt", _("Receipt")
    STATEMENT = "statement", _("Statement of account")


PREFIXES = {
    DocumentType.QUOTATION: "QUO",
    DocumentType.INVOICE: "INV",
    DocumentType.CREDIT_NOTE: "CRN",
    DocumentType.DELIVERY_NOTE: "DLV",
    DocumentType.RECEIPT: "RCT",
    DocumentType.STATEMENT: "STM",
}


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    BENEFITPAY = "benefitpay", _("BenefitPay")
    CHEQUE = "cheque", _("Cheque")


class VatCategory(models.TextChoices):
    STANDARD = "S", _("Standard rate (10%)")
    ZERO = "Z", _("Zero-rated")
    EXEMPT = "E", _("Exempt")
    OUT_OF_SCOPE = "O", _("Not subject to VAT (issuer not VAT-registered)")


class ImmutableError(Exception):
    """Issued documents are never changed or deleted; a credit note corrects an invoice."""


_M = TypeVar("_M", bound=models.Model)


def _refused(model: type[models.Model], what: str) -> ImmutableError:
    return ImmutableError(f"{model.__name__} rows of issued documents cannot be {what}.")


class ImmutableQuerySet(models.QuerySet[_M]):
    """Rows written once with an issued document: the ORM adds them and never changes or
    deletes them (database triggers refuse it too, see `documents.triggers`). A model using it
    also names it as its base manager, which related lookups use."""

    def update(self, **kwargs: Any) -> int:
        raise _refused(self.model, "changed")

    def bulk_update(self, objs: Iterable[_M], fields: Iterable[str], batch_size: int | None = None) -> int:
        raise _refused(self.model, "changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise _refused(self.model, "deleted")

    delete.queryset_only = True  # type: ignore[attr-defined]  # as Django's: no Manager.delete()


class ImmutableRow(models.Model):
    """Instances are saved once (an INSERT) and never saved again nor deleted."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise _refused(type(self), "changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise _refused(type(self), "deleted")


class DocumentQuerySet(ImmutableQuerySet["Document"]):
    pass


class Document(ImmutableRow):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: every index below that starts with the licence serves its lookups.
    licence = models.ForeignKey(
        "licensing.Licence",
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("licence"),
        db_index=False,
    )
    type = models.CharField(_("type"), max_length=14, choices=DocumentType.choices, db_index=True)
    number = models.CharField(_("number"), max_length=24)
    counter = models.PositiveIntegerField(_("chain counter"))
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    signature = models.CharField(max_length=100)
    kid = models.CharField(_("key id"), max_length=32)
    payload = models.JSONField()
    issued_at = models.DateTimeField(_("issued"), db_index=True)
    issue_date = models.DateField(_("issue date"), db_index=True)
    # Served by the index (customer, issued_at, id).
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("customer"),
        db_index=False,
    )
    currency = models.CharField(max_length=3, default="BHD")
    subtotal = models.DecimalField(_("subtotal"), max_digits=14, decimal_places=3, default=Decimal("0.000"))
    vat = models.DecimalField(_("VAT"), max_digits=14, decimal_places=3, default=Decimal("0.000"))
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=3, default=Decimal("0.000"))
    tamkeen_application_number = models.CharField(_("Tamkeen application number"), max_length=30, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # quotation, invoice and split_group are indexed where set only (see Meta.indexes).
    quotation = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("quotation"),
        db_index=False,
    )
    invoice = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        verbose_name=_("invoice"),
        help_text=_("For a credit note: the invoice it corrects."),
        db_index=False,
    )
    split_group = models.UUIDField(
        null=True,
        blank=True,
        help_text=_(
            "Split invoicing: the two invoices issued together (Tamkeen's share and the customer's)."
        ),
    )
    delivery_notes = models.ManyToManyField("self", blank=True, symmetrical=False, related_name="+")
    payment_method = models.CharField(
        _("payment method"), max_length=14, choices=PaymentMethod.choices, blank=True
    )
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    period_from = models.DateField(null=True, blank=True)
    period_to = models.DateField(null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects: ClassVar[DocumentQuerySet] = DocumentQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.UniqueConstraint(fields=["licence", "number"], name="document_number_unique_per_licence"),
            models.UniqueConstraint(
                fields=["licence", "counter"], name="document_counter_unique_per_licence"
            ),
        ]
        indexes = [
            # A type (and a status, which is of one type) filter is one range of this index.
            models.Index(fields=["licence", "type", "issued_at", "id"], name="document_licence_type_keyset"),
            # Keyset pages of a holder's list (selectors.document_page), newest first, and of a
            # customer's documents (the list's customer filter, documents addressed to a user).
            models.Index(fields=["licence", "issued_at", "id"], name="document_licence_keyset"),
            models.Index(fields=["customer", "issued_at", "id"], name="document_customer_keyset"),
            # Set on few documents: indexed where set only, so that a document without them (most
            # of them) writes no entry (a lookup `= x` or `IN (…)` implies IS NOT NULL on both engines).
            models.Index(
                fields=["quotation"], condition=Q(quotation__isnull=False), name="document_quotation_set"
            ),
            models.Index(fields=["invoice"], condition=Q(invoice__isnull=False), name="document_invoice_set"),
            models.Index(
                fields=["split_group"],
                condition=Q(split_group__isnull=False),
                name="document_split_group_set",
            ),
        ]
        base_manager_name = "objects"

    def __str__(self) -> str:
        return self.number


class DocumentLine(ImmutableRow):
    # Served by the unique index (document, position).
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="lines", db_index=False)
    position = models.PositiveSmallIntegerField()
    activity = models.ForeignKey("catalogue.Activity", on_delete=models.PROTECT, related_name="+")
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=20)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=3)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=3, default=Decimal("0.000"))
    vat_category = models.CharField(_("VAT category"), max_length=1, choices=VatCategory.choices)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    net = models.DecimalField(max_digits=14, decimal_places=3)
    # Documents of payload version 1 only: since version 2, VAT is computed per category on the
    # document (its payload's vat_breakdown), not per line.
    vat = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    item_code = models.CharField(_("item code"), max_length=50, blank=True)
    brand = models.CharField(_("brand"), max_length=100, blank=True)

    objects: ClassVar[ImmutableQuerySet[DocumentLine]] = ImmutableQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["document", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="document_line_position")
        ]
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"


class Allocation(ImmutableRow):
    """Part of a receipt allocated to an invoice."""

    receipt = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=14, decimal_places=3)

    objects: ClassVar[ImmutableQuerySet[Allocation]] = ImmutableQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["receipt", "invoice"], name="allocation_once_per_invoice")
        ]
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.receipt_id}→{self.invoice_id}: {self.amount}"


class DocumentCounterQuerySet(ImmutableQuerySet["DocumentCounter"]):
    def chain_head_record(self, *, chain_id: int, last_hash: str) -> None:
        """Record the hash of the document just stored as the head of its licence's chain: the
        one change to a counter besides `services._take_numbers`' `UPDATE … RETURNING` (a
        trigger checks that the hash is that of the licence's document numbered `last`)."""
        table = self.model._meta.db_table
        sql = f"UPDATE {table} SET last_hash = %s WHERE id = %s AND type = 'chain' AND year = 0"  # noqa: S608
        if self.db == DEFAULT_DB_ALIAS:  # queued with the issue's other writes (`prebuilt.together`)
            prebuilt.execute(sql, [last_hash, chain_id])
            return
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, [last_hash, chain_id])


class DocumentCounter(ImmutableRow):
    """Gapless numbers per licence, type and year; and (type "chain", year 0) the licence's
    chain counter with the hash of its last document. The invoice row of a year also keeps the
    year's running turnover (invoices less credit notes, in fils), so that the tier's ceiling is
    checked in constant time under the same lock that numbers the document."""

    licence = models.ForeignKey("licensing.Licence", on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=14)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    turnover_fils = models.BigIntegerField(default=0)

    objects: ClassVar[DocumentCounterQuerySet] = DocumentCounterQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["licence", "type", "year"], name="document_counter_unique")
        ]
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.licence_id}/{self.type}/{self.year}: {self.last}"


class QuotationResponse(ImmutableRow):
    """The customer's answer to a quotation (kept apart: the quotation itself never changes)."""

    class Answer(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    quotation = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="response")
    answer = models.CharField(max_length=10, choices=Answer.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    objects: ClassVar[ImmutableQuerySet[QuotationResponse]] = ImmutableQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.quotation_id}: {self.answer}"


class RenderedFile(ImmutableRow):
    """The signed PDF of a document, rendered once and kept (it carries its signing time)."""

    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="rendered")
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[ImmutableQuerySet[RenderedFile]] = ImmutableQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.document_id}.pdf"


class InvoiceStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")
    CREDITED = "credited", _("Credited")


class InvoiceBalance(models.Model):
    """What happened to an invoice since it was issued: the sums credited (credit notes) and
    allocated (receipts) against it, in fils, and the status they make. The one MUTABLE row
    beside an immutable invoice, kept by database triggers in the same statement that stores
    the credit note or the receipt's allocation (`documents.balances`); the list's status
    filter reads one range of its `(licence, status, issued_at, invoice)` index."""

    # No foreign-key constraint: an invoice never goes away (documents.triggers), and a row
    # deleted behind the application is reported by `khutwa documents-verify` (its chain walk
    # and `balances_problems`), not blocked here.
    invoice = models.OneToOneField(
        Document,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        related_name="balance",
        verbose_name=_("invoice"),
        db_constraint=False,
    )
    # No index of its own: the keyset index leads with the licence.
    licence = models.ForeignKey(
        "licensing.Licence", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    issued_at = models.DateTimeField()
    total_fils = models.BigIntegerField()
    credited_fils = models.BigIntegerField(default=0)
    allocated_fils = models.BigIntegerField(default=0)
    status = models.CharField(_("status"), max_length=8, choices=InvoiceStatus.choices)

    class Meta:
        indexes = [
            models.Index(fields=["licence", "status", "issued_at", "invoice"], name="invoice_balance_keyset"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.status}"


class IdempotencyKey(models.Model):
    """`Idempotency-Key` of POST /documents: the same key and body return the same document."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    documents = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]

    def __str__(self) -> str:
        return self.key
