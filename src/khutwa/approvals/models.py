"""Each approving body's review of an application, with its service clock and inspection."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils.translation import gettext_lazy as _


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    INFO_REQUESTED = "info_requested", _("Information requested")
    APPROVED = "approved", _("Approved")
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", _("Approved with conditions")
    REJECTED = "rejected", _("Rejected")
    CLOSED = "closed", _("Closed")  # the application was withdrawn while under review


OPEN_REVIEW_STATUSES = (ReviewStatus.PENDING, ReviewStatus.INFO_REQUESTED)
APPROVING_STATUSES = (ReviewStatus.APPROVED, ReviewStatus.APPROVED_WITH_CONDITIONS)


class Review(models.Model):
    application = models.ForeignKey(
        "licensing.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="reviews",
    )
    body = models.ForeignKey(
        "catalogue.ApprovingBody",
        verbose_name=_("approving body"),
        on_delete=models.PROTECT,
        related_name="reviews",
    )
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=ReviewStatus.choices,
        default=ReviewStatus.PENDING,
        db_index=True,
    )
    added_reason = models.TextField(_("reason the registrar added this body"), blank=True)
    started_on = models.DateField(_("clock started"))
    sla_working_days = models.PositiveSmallIntegerField(_("service target (working days)"))
    paused_working_days = models.PositiveSmallIntegerField(default=0)
    paused_since = models.DateField(null=True, blank=True)
    due_date = models.DateField(_("due date"), db_index=True)
    requires_inspection = models.BooleanField(_("inspection required"), default=False)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    conditions = models.TextField(_("conditions"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reminded_before_due = models.BooleanField(default=False)
    reminded_overdue = models.BooleanField(default=False)
    reopened_count = models.PositiveSmallIntegerField(default=0)
    # 1 while the review is open, derived by the database from status, so that the open queue
    # is one index range in due-date order (SQLite cannot use a partial index with bound
    # parameters, nor an index on a bare boolean test).
    in_queue = models.GeneratedField(
        expression=Case(
            When(status__in=["pending", "info_requested"], then=Value(1)),
            default=Value(0),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "body"],
                condition=Q(status__in=["pending", "info_requested"]),
                name="one_open_review_per_body",
            )
        ]
        indexes = [
            # The reviewer's queue: open reviews of one body by due date, without a sort.
            # In the total order the queue pages by (due date, id), with the status, so that the
            # overdue counts (pending only) read the index alone.
            models.Index(fields=["body", "in_queue", "due_date", "id", "status"], name="review_body_queue"),
            # The registrar's overdue list across bodies, in the same order.
            models.Index(fields=["in_queue", "due_date", "id", "status"], name="review_open_by_due"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}/{self.body_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REVIEW_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.paused_since is not None


class InfoRequest(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="info_requests")
    question = models.TextField(_("question"))
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    asked_at = models.DateTimeField()
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "id"]
        verbose_name = _("information request")
        verbose_name_plural = _("information requests")

    def __str__(self) -> str:
        return self.question[:60]


class InspectionOutcome(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class Inspection(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="inspections")
    scheduled_for = models.DateField(_("date"))
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome = models.CharField(
        _("outcome"),
        max_length=10,
        choices=InspectionOutcome.choices,
        default=InspectionOutcome.SCHEDULED,
    )
    notes = models.TextField(_("notes"), blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scheduled_for", "id"]
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")

    def __str__(self) -> str:
        return f"{self.review_id} {self.scheduled_for.isoformat()}"
