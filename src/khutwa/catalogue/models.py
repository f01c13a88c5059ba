"""What can be licensed, by whom it is approved, and the calendar that service clocks use.

Everything here is edited by the registrar in the admin, without code changes; the first
values are seeded by a data migration from catalogue/seed.py.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from khutwa.text import strip_bidi

code_validator = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    _("Use lower-case letters, digits and single dashes only."),
)


class BilingualName(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True, validators=[code_validator])
    name_ar = models.CharField(_("Arabic name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        abstract = True
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The names are printed on sealed documents and licence certificates: no bidirectional
        # control characters (khutwa.text), whoever edits the catalogue.
        super().clean()
        errors = {}
        for name in ("name_ar", "name_en"):
            value = strip_bidi(getattr(self, name))
            setattr(self, name, value)
            if not value.strip():
                errors[name] = [models.Field.default_error_messages["blank"]]
        if errors:
            raise ValidationError(errors)

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "ar").startswith("en") else self.name_ar


class ApprovingBody(BilingualName):
    sla_working_days = models.PositiveSmallIntegerField(
        _("service target (working days)"), default=10, validators=[MinValueValidator(1)]
    )
    conducts_inspections = models.BooleanField(
        _("conducts home inspections"),
        default=False,
        help_text=_("Inspects the home before deciding when an activity requires an inspection."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(BilingualName.Meta):
        verbose_name = _("approving body")
        verbose_name_plural = _("approving bodies")


class ActivityCategory(BilingualName):
    class Meta(BilingualName.Meta):
        verbose_name = _("activity category")
        verbose_name_plural = _("activity categories")


class Activity(BilingualName):
    category = models.ForeignKey(
        ActivityCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="activities",
    )
    bodies = models.ManyToManyField(
        ApprovingBody, verbose_name=_("approving bodies"), related_name="activities"
    )
    is_food = models.BooleanField(_("food activity"), default=False)
    requires_inspection = models.BooleanField(_("requires a home inspection"), default=False)
    to_prepare_ar = models.TextField(_("what to prepare (Arabic)"), blank=True)
    to_prepare_en = models.TextField(_("what to prepare (English)"), blank=True)
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta(BilingualName.Meta):
        verbose_name = _("activity")
        verbose_name_plural = _("activities")

    @property
    def to_prepare(self) -> str:
        return self.to_prepare_en if (get_language() or "ar").startswith("en") else self.to_prepare_ar


class LicenceTier(BilingualName):
    max_activities = models.PositiveSmallIntegerField(
        _("maximum activities"), validators=[MinValueValidator(1)]
    )
    turnover_ceiling = models.DecimalField(
        _("annual turnover ceiling (BHD)"),
        max_digits=12,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.000"))],
    )
    validity_months = models.PositiveSmallIntegerField(
        _("validity (months)"), default=12, validators=[MinValueValidator(1)]
    )
    support_cap = models.DecimalField(
        _("support cap per 12 months (BHD)"),
        max_digits=12,
        decimal_places=3,
        default=Decimal("0.000"),
        validators=[MinValueValidator(Decimal("0.000"))],
    )
    fee = models.DecimalField(
        _("licence fee (BHD)"),
        max_digits=9,
        decimal_places=3,
        default=Decimal("0.000"),
        validators=[MinValueValidator(Decimal("0.000"))],
    )
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta(BilingualName.Meta):
        verbose_name = _("licence tier")
        verbose_name_plural = _("licence tiers")


class Governorate(BilingualName):
    class Meta(BilingualName.Meta):
        verbose_name = _("governorate")
        verbose_name_plural = _("governorates")


class PublicHoliday(models.Model):
    date = models.DateField(_("date"), unique=True)
    name_ar = models.CharField(_("Arabic name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)

    class Meta:
        ordering = ["date"]
        verbose_name = _("public holiday")
        verbose_name_plural = _("public holidays")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name_en}"


class Weekday(models.Model):
    """The working week: one row per day (ISO numbering, Monday=1 … Sunday=7)."""

    class Day(models.IntegerChoices):
        MONDAY = 1, _("Monday")
        TUESDAY = 2, _("Tuesday")
        WEDNESDAY = 3, _("Wednesday")
        THURSDAY = 4, _("Thursday")
        FRIDAY = 5, _("Friday")
        SATURDAY = 6, _("Saturday")
        SUNDAY = 7, _("Sunday")

    iso_weekday = models.PositiveSmallIntegerField(_("day"), choices=Day.choices, unique=True)
    is_working_day = models.BooleanField(_("working day"), default=True)

    class Meta:
        ordering = ["iso_weekday"]
        verbose_name = _("weekday")
        verbose_name_plural = _("working week")

    def __str__(self) -> str:
        return str(self.get_iso_weekday_display())


class Policy(models.Model):
    """Licensing rules the registrar tunes without code changes (one row)."""

    appeal_days = models.PositiveSmallIntegerField(
        _("days to appeal a rejection"), default=30, validators=[MinValueValidator(1)]
    )
    renewal_window_days = models.PositiveSmallIntegerField(
        _("renewal opens this many days before expiry"),
        default=60,
        validators=[MinValueValidator(1)],
    )
    renewal_bodies = models.ManyToManyField(
        ApprovingBody,
        verbose_name=_("bodies that re-review a renewal"),
        blank=True,
        related_name="+",
        help_text=_(
            "Only those the licence's activities need; none means renewal is approved "
            "once the registrar accepts it."
        ),
    )
    attachment_max_mb = models.PositiveSmallIntegerField(
        _("largest attachment (MB)"), default=5, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("licensing policy")
        verbose_name_plural = _("licensing policy")

    def __str__(self) -> str:
        return str(_("Licensing policy"))

    @classmethod
    def current(cls) -> Policy:
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy
