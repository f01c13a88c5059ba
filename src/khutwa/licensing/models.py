"""Applications for a work-from-home licence, and the licences issued from them."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from khutwa.accounts.validators import validate_cpr, validate_vat_number


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    SCREENING = "screening", _("Screening")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    LICENCE_ISSUED = "licence_issued", _("Licence issued")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = (
    ApplicationStatus.DRAFT,
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.SCREENING,
    ApplicationStatus.IN_REVIEW,
    ApplicationStatus.APPROVED,
)


class ApplicationKind(models.TextChoices):
    NEW = "new", _("New licence")
    RENEWAL = "renewal", _("Renewal")
    AMENDMENT = "amendment", _("Amendment")


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    ASSISTED = "assisted", _("At the Khutwa centre (assisted)")


class Address(models.Model):
    """A Bahraini address: flat/building, road, block, area, governorate."""

    flat = models.CharField(_("flat"), max_length=10, blank=True)
    building = models.CharField(_("building"), max_length=10)
    road = models.CharField(_("road"), max_length=10)
    block = models.CharField(_("block"), max_length=10)
    area = models.CharField(_("area"), max_length=100)
    governorate = models.ForeignKey(
        "catalogue.Governorate", verbose_name=_("governorate"), on_delete=models.PROTECT
    )
    address_key = models.CharField(max_length=60, db_index=True, editable=False)

    class Meta:
        abstract = True


class Application(Address):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference"), max_length=20, unique=True)
    kind = models.CharField(
        _("kind"), max_length=12, choices=ApplicationKind.choices, default=ApplicationKind.NEW
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
        db_index=True,
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant account"),
        on_delete=models.PROTECT,
        related_name="applications",
        null=True,
        blank=True,
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    cpr = models.CharField(_("CPR number"), max_length=9, validators=[validate_cpr], db_index=True)
    name_ar = models.CharField(_("name in Arabic"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200)
    name_search = models.CharField(max_length=500, editable=False, db_index=True)
    phone = models.CharField(_("phone"), max_length=20)
    email = models.EmailField(_("email"), blank=True)
    trade_name = models.CharField(_("trade name"), max_length=200)
    tier = models.ForeignKey(
        "catalogue.LicenceTier", verbose_name=_("licence tier"), on_delete=models.PROTECT
    )
    activities = models.ManyToManyField(
        "catalogue.Activity", verbose_name=_("activities"), related_name="applications"
    )
    licence = models.ForeignKey(
        "Licence",
        verbose_name=_("licence"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        help_text=_("For renewals and amendments: the licence concerned; once issued: the licence."),
    )
    returned_items = models.TextField(_("items missing"), blank=True)
    rejection_reasons = models.TextField(_("reasons for rejection"), blank=True)
    appealed_at = models.DateTimeField(_("appealed"), null=True, blank=True)
    appeal_reason = models.TextField(_("appeal"), blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        constraints = [
            # One open new-licence application per CPR and per home (race-proof).
            models.UniqueConstraint(
                fields=["cpr"],
                condition=Q(kind="new", status__in=[s.value for s in OPEN_STATUSES]),
                name="one_open_new_application_per_cpr",
            ),
            models.UniqueConstraint(
                fields=["address_key"],
                condition=Q(kind="new", status__in=[s.value for s in OPEN_STATUSES]),
                name="one_open_new_application_per_home",
            ),
            models.UniqueConstraint(
                fields=["licence"],
                condition=Q(
                    kind__in=["renewal", "amendment"],
                    status__in=[s.value for s in OPEN_STATUSES],
                ),
                name="one_open_change_per_licence",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ApplicationTransition(models.Model):
    """The status timeline of an application (what public tracking shows)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=ApplicationStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ApplicationStatus.choices)
    action = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_status} → {self.to_status}"


class AttachmentKind(models.TextChoices):
    OWNERSHIP = "ownership", _("Proof of ownership or tenancy")
    IDENTITY = "identity", _("Smart card copy")
    PHOTO = "photo", _("Photo of the workplace")
    HEALTH = "health", _("Health certificate")
    OTHER = "other", _("Other")


class Attachment(models.Model):
    """A file stored outside the web root (var/private), served only to those allowed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=12, choices=AttachmentKind.choices)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=100, unique=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name


class LicenceStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


#: Letters of a licence's public check code: no digits (the code is told apart from the number
#: after the last dash), no I or O (read as 1 and 0). 24^6 ≈ 191 million codes per licence.
CHECK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CHECK_CODE_LENGTH = 6


def new_check_code() -> str:
    """A random code for a licence's public check address: licence numbers are sequential, so
    the public page and API answer only to the number with its code (printed on the
    certificate and in its QR code), and cannot be walked through in bulk."""
    return "".join(secrets.choice(CHECK_CODE_ALPHABET) for _ in range(CHECK_CODE_LENGTH))


class Licence(Address):
    number = models.CharField(_("licence number"), max_length=20, unique=True)
    check_code = models.CharField(
        _("public check code"), max_length=CHECK_CODE_LENGTH, default=new_check_code, editable=False
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=LicenceStatus.choices,
        default=LicenceStatus.ACTIVE,
        db_index=True,
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("holder"),
        on_delete=models.PROTECT,
        related_name="licences",
        null=True,
        blank=True,
    )
    cpr = models.CharField(_("CPR number"), max_length=9, db_index=True)
    name_ar = models.CharField(_("name in Arabic"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200)
    trade_name = models.CharField(_("trade name"), max_length=200)
    tier = models.ForeignKey(
        "catalogue.LicenceTier", verbose_name=_("licence tier"), on_delete=models.PROTECT
    )
    activities = models.ManyToManyField(
        "catalogue.Activity", verbose_name=_("activities"), related_name="licences"
    )
    conditions = models.TextField(_("conditions"), blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), db_index=True)
    issued_at = models.DateTimeField(_("issued"))
    status_reason = models.TextField(_("reason"), blank=True)
    vat_number = models.CharField(
        _("VAT account number"),
        max_length=15,
        blank=True,
        validators=[validate_vat_number],
        help_text=_("Only when the holder is registered for VAT with the National Bureau for Revenue."),
    )

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        constraints = [
            models.UniqueConstraint(
                fields=["cpr"],
                condition=Q(status__in=["active", "suspended"]),
                name="one_live_licence_per_cpr",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def public_ref(self) -> str:
        """What the public check takes: the number and its check code (KH-2026-000123-KQWMTR)."""
        return f"{self.number}-{self.check_code}"

    @property
    def is_active(self) -> bool:
        return self.status == LicenceStatus.ACTIVE


class CertificateFile(models.Model):
    """A licence certificate's signed PDF for the state of the licence it shows (the SHA-256 of its
    HTML): rendered once per state, by a worker right after each change of the licence, so that
    downloads only read it (one before the worker ran renders and keeps it)."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="certificate_files")
    content_sha256 = models.CharField(max_length=64)
    pdf = models.BinaryField()
    rendered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["licence", "content_sha256"], name="licensing_certificatefile_one_per_state"
            )
        ]
        verbose_name = _("licence certificate file")
        verbose_name_plural = _("licence certificate files")

    def __str__(self) -> str:
        return f"{self.licence_id} {self.content_sha256[:12]}"


class LicenceEvent(models.Model):
    """The history of a licence, shown to its holder and the registrar."""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("Issued")
        RENEWED = "renewed", _("Renewed")
        AMENDED = "amended", _("Amended")
        SUSPENDED = "suspended", _("Suspended")
        REINSTATED = "reinstated", _("Reinstated")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("licence event")
        verbose_name_plural = _("licence events")

    def __str__(self) -> str:
        return f"{self.licence_id} {self.kind}"


class Counter(models.Model):
    """Gapless yearly counters for references and licence numbers, taken under a row lock."""

    name = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "year"], name="counter_name_year")]

    def __str__(self) -> str:
        return f"{self.name}-{self.year}: {self.last}"


class Notice(models.Model):
    """An in-portal notice to a user (also e-mailed)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    message_ar = models.TextField()
    message_en = models.TextField()
    created_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def __str__(self) -> str:
        return self.message_en[:60]
