"""Tamkeen's support programmes for home businesses, the applications that reserve an
entitlement, the claims that rest on official documents, and the payouts that consume it."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.000")


class ProgrammeKind(models.TextChoices):
    FINANCING = "financing", _("Financing")
    CONSULTING = "consulting", _("Consulting")
    TRAINING = "training", _("Training")
    EQUIPMENT = "equipment", _("Equipment")
    MARKETING = "marketing", _("Marketing")
    CLOUD = "cloud", _("Cloud services")
    OTHER = "other", _("Other")


class BeneficiaryKind(models.TextChoices):
    HOLDERS = "holders", _("Licence holders")
    CUSTOMERS = "customers", _("Tamkeen customers")
    BOTH = "both", _("Both")


class Programme(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_ar = models.CharField(_("Arabic name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)
    description_ar = models.TextField(_("description (Arabic)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=ProgrammeKind.choices)
    open_from = models.DateField(_("open from"))
    open_until = models.DateField(_("open until"), null=True, blank=True)
    is_paused = models.BooleanField(_("paused"), default=False)
    budget = models.DecimalField(
        _("budget (BHD)"), max_digits=14, decimal_places=3, validators=[MinValueValidator(ZERO)]
    )
    reserved = models.DecimalField(
        _("reserved (BHD)"), max_digits=14, decimal_places=3, default=ZERO, editable=False
    )
    paid = models.DecimalField(_("paid (BHD)"), max_digits=14, decimal_places=3, default=ZERO, editable=False)
    rate = models.DecimalField(
        _("subsidy rate"),
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal("1.000"))],
        help_text=_("Share of the eligible cost Tamkeen pays: 0.500 for 50%, 1.000 for 100%."),
    )
    eligible_tiers = models.ManyToManyField(
        "catalogue.LicenceTier",
        verbose_name=_("eligible tiers"),
        blank=True,
        related_name="+",
        help_text=_("None chosen: every tier."),
    )
    eligible_categories = models.ManyToManyField(
        "catalogue.ActivityCategory",
        blank=True,
        related_name="+",
        verbose_name=_("eligible activity categories"),
        help_text=_("None chosen: every category."),
    )
    frequency_months = models.PositiveSmallIntegerField(
        _("once per (months)"),
        default=12,
        help_text=_("How often one beneficiary may receive it; 0: no limit."),
    )
    beneficiaries = models.CharField(
        _("beneficiaries"), max_length=10, choices=BeneficiaryKind.choices, default=BeneficiaryKind.BOTH
    )
    requires_quotation = models.BooleanField(_("a quotation before approval"), default=True)
    claim_requires_receipt = models.BooleanField(_("a receipt to claim"), default=True)
    claim_requires_delivery_note = models.BooleanField(_("a delivery note to claim (goods)"), default=False)
    split_invoicing = models.BooleanField(
        _("split invoicing"),
        default=False,
        help_text=_("Tamkeen's share invoiced to Tamkeen, the rest to the customer."),
    )
    invoice_tolerance = models.DecimalField(
        _("invoice tolerance over the quotation"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.050"),
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("1.000"))],
    )
    approval_valid_days = models.PositiveSmallIntegerField(_("an approval expires after (days)"), default=90)

    class Meta:
        ordering = ["code"]
        verbose_name = _("support programme")
        verbose_name_plural = _("support programmes")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "ar").startswith("en") else self.name_ar

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.reserved - self.paid


class ProgrammeCap(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="caps")
    tier = models.ForeignKey("catalogue.LicenceTier", on_delete=models.PROTECT, related_name="+")
    cap = models.DecimalField(
        _("cap per 12 months (BHD)"), max_digits=12, decimal_places=3, validators=[MinValueValidator(ZERO)]
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["programme", "tier"], name="programme_cap_per_tier")]
        verbose_name = _("cap by tier")
        verbose_name_plural = _("caps by tier")

    def __str__(self) -> str:
        return f"{self.programme_id}/{self.tier_id}: {self.cap}"


class Beneficiary(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="beneficiary"
    )
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    is_blocked = models.BooleanField(_("blocked"), default=False)
    blocked_reason = models.TextField(_("reason for blocking"), blank=True)

    class Meta:
        verbose_name = _("beneficiary")
        verbose_name_plural = _("beneficiaries")

    def __str__(self) -> str:
        return str(self.user)


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    INFO_REQUESTED = "info_requested", _("Information requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CLAIMED = "claimed", _("Claimed")
    VERIFIED = "verified", _("Verified")
    PAID = "paid", _("Paid")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


RESERVING = (ApplicationStatus.APPROVED, ApplicationStatus.CLAIMED, ApplicationStatus.VERIFIED)


class SupportApplication(models.Model):
    reference = models.CharField(_("Tamkeen application number"), max_length=20, unique=True)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="applications")
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="support_applications"
    )
    as_holder = models.BooleanField(_("as a licence holder"), default=False)
    quotation = models.ForeignKey(
        "documents.Document",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="support_applications",
    )
    licence = models.ForeignKey(
        "licensing.Licence",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The licence whose tier and activities count."),
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.SUBMITTED,
        db_index=True,
    )
    eligible_amount = models.DecimalField(max_digits=14, decimal_places=3, default=ZERO)
    entitlement = models.DecimalField(_("entitlement (BHD)"), max_digits=14, decimal_places=3, default=ZERO)
    eligibility = models.JSONField(default=list)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_on = models.DateField(_("approval expires"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("support application")
        verbose_name_plural = _("support applications")

    def __str__(self) -> str:
        return self.reference


class ApplicationMessage(models.Model):
    """The exchange between the officer and the beneficiary on an application: what was asked
    when information was requested, and what was answered."""

    application = models.ForeignKey(SupportApplication, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_officer = models.BooleanField(default=False)
    text = models.TextField(max_length=4000)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.at:%Y-%m-%d}"


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")
    PAID = "paid", _("Paid")


class Claim(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(SupportApplication, on_delete=models.PROTECT, related_name="claims")
    status = models.CharField(
        _("status"), max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED, db_index=True
    )
    checks = models.JSONField(default=list)
    claimed_amount = models.DecimalField(max_digits=14, decimal_places=3, default=ZERO)
    payable = models.DecimalField(_("payable (BHD)"), max_digits=14, decimal_places=3, default=ZERO)
    payee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who is paid when not the beneficiary: the supplier, with split invoicing."),
    )
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("claim")
        verbose_name_plural = _("claims")

    def __str__(self) -> str:
        return f"{self.application_id}#{self.pk}"


class ClaimDocument(models.Model):
    """A document a claim rests on. The unique constraint is what makes a document usable by
    one claim only, whatever the checks say."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="documents")
    document = models.ForeignKey("documents.Document", on_delete=models.PROTECT, related_name="claim_uses")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document"], name="document_used_by_one_claim")]

    def __str__(self) -> str:
        return f"{self.claim_id}:{self.document_id}"


class BatchStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")


class PayoutBatch(models.Model):
    reference = models.CharField(max_length=30, unique=True)
    status = models.CharField(max_length=6, choices=BatchStatus.choices, default=BatchStatus.OPEN)
    execution_date = models.DateField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    paid_at = models.DateTimeField(null=True, blank=True)
    exported_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")

    def __str__(self) -> str:
        return self.reference


class Payout(models.Model):
    """One payment in a batch. A claim can be in one batch only (database constraint)."""

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="payout")
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    creditor_name = models.CharField(max_length=140)
    iban = models.CharField(max_length=34)

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.claim_id}"
