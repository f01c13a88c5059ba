"""Dead letters (tasks that kept failing) and the scheduler's claimed runs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeadLetter(models.Model):
    """A task that failed on every attempt (or whose worker was lost too often): kept for the
    system administrator, who can run it again once the cause is fixed."""

    task_path = models.CharField(_("task"), max_length=255)
    args_kwargs = models.JSONField(_("arguments"), default=dict)
    attempts = models.PositiveIntegerField(_("attempts"))
    last_error = models.TextField(_("last error"))
    first_failed_at = models.DateTimeField(_("first failure"))
    last_failed_at = models.DateTimeField(_("last failure"))
    replayed_at = models.DateTimeField(_("run again at"), null=True, blank=True)

    class Meta:
        ordering = ["-last_failed_at"]
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")

    def __str__(self) -> str:
        return f"{self.task_path} ({self.attempts})"


class ScheduledRun(models.Model):
    """One run of a scheduled job for one slot (a day's set time, or a minute): the unique
    constraint is what makes several schedulers start it once."""

    job = models.CharField(_("job"), max_length=100)
    slot = models.DateTimeField(_("slot"))
    claimed_at = models.DateTimeField(_("claimed at"))
    task_id = models.CharField(_("task result"), max_length=64, blank=True)

    class Meta:
        ordering = ["-slot", "job"]
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="jobs_scheduledrun_one_per_slot")]
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot.isoformat()}"
