from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ARABIC = "ar", _("Arabic")
    ENGLISH = "en", _("English")


class Preference(models.Model):
    """How a portal user wants to hear about what concerns them. Without a row, the defaults of
    ``selectors.preference_for`` apply. The in-portal notice is always kept."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    by_email = models.BooleanField(_("by e-mail"), default=True)
    by_sms = models.BooleanField(_("by text message (SMS)"), default=False)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.ARABIC
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: email={self.by_email} sms={self.by_sms} {self.language}"


class Sent(models.Model):
    """A notification that must go out once only (licence expiry reminders): its key is taken in
    the transaction that schedules the messages, so a rerun of the daily job finds it taken."""

    key = models.CharField(max_length=120, unique=True)
    event = models.CharField(max_length=40)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("notification sent once")
        verbose_name_plural = _("notifications sent once")

    def __str__(self) -> str:
        return self.key
