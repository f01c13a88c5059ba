from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from khutwa.accounts.validators import validate_cpr, validate_cr
from khutwa.display import display_name


class User(AbstractUser):
    """Anyone who logs in. Roles are groups (khutwa.accounts.roles)."""

    cpr = models.CharField(
        _("CPR number"),
        max_length=9,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_cpr],
        help_text=_("Nine digits, from the smart card. Required for applicants."),
    )
    name_ar = models.CharField(_("name in Arabic"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    body = models.ForeignKey(
        "catalogue.ApprovingBody",
        verbose_name=_("approving body"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        help_text=_("For reviewers and inspectors: the body whose queue they work."),
    )
    # When the user proved they receive mail at `email` (the signed link) and text messages at
    # `phone` (the six-digit code); cleared when the address or number changes. Applying for a
    # licence needs one of the two (accounts.selectors.contact_confirmed).
    email_confirmed_at = models.DateTimeField(_("e-mail confirmed"), null=True, blank=True)
    phone_confirmed_at = models.DateTimeField(_("mobile confirmed"), null=True, blank=True)
    otp_exempt = models.BooleanField(
        _("second factor waived"),
        default=False,
        help_text=_(
            "Set by the demo for its staff accounts. Honoured only where KHUTWA_OTP_EXEMPTIONS "
            "allows it (development), never in production."
        ),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def clean(self) -> None:
        super().clean()
        from khutwa.accounts.roles import BODY_ROLES, Role

        roles = self.role_names() if self.pk else set()
        if roles & BODY_ROLES and self.body_id is None:
            raise ValidationError({"body": _("Reviewers and inspectors must belong to a body.")})
        if Role.APPLICANT in roles and not self.cpr:
            raise ValidationError({"cpr": _("Applicants must have a CPR number.")})

    def role_names(self) -> set[str]:
        cached = getattr(self, "_role_names", None)
        if cached is None:
            cached = set(self.groups.values_list("name", flat=True))
            self._role_names = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_names() & set(roles))

    @property
    def display_name(self) -> str:
        """The name in the page's language (Arabic on /ar/), else the other, else the user name."""
        return display_name(self)

    @property
    def verified_cr(self) -> str:
        """The commercial registration this account acts for, once a Tamkeen officer checked it."""
        try:
            enterprise = self.enterprise
        except Enterprise.DoesNotExist:
            return ""
        return enterprise.cr_number if enterprise.verified_at else ""


class PhoneCode(models.Model):
    """A six-digit code sent by SMS to confirm a mobile number. Only a keyed hash of the code is
    kept; it expires, and it allows a few wrong tries (KHUTWA_PHONE_CODE_ATTEMPTS) before it is
    spent. A new code replaces the user's earlier ones."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="phone_codes")
    phone = models.CharField(_("phone"), max_length=20)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("mobile confirmation code")
        verbose_name_plural = _("mobile confirmation codes")

    def __str__(self) -> str:
        return f"{self.user_id} {self.phone} {self.created_at:%Y-%m-%d %H:%M}"


class Enterprise(models.Model):
    """A business that a portal account acts for (a Tamkeen customer identified by its commercial
    registration). Documents addressed to the CR reach the account only once a Tamkeen officer
    has checked the link: anyone can type a CR number."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="enterprise")
    cr_number = models.CharField(_("commercial registration number"), max_length=20, validators=[validate_cr])
    name_ar = models.CharField(_("Arabic name"), max_length=200, blank=True)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    submitted_at = models.DateTimeField(_("submitted"))
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    rejected_reason = models.TextField(_("reason for refusal"), blank=True)

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        constraints = [
            models.UniqueConstraint(
                fields=["cr_number"],
                condition=models.Q(verified_at__isnull=False),
                name="enterprise_cr_verified_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cr_number} {self.name_en or self.name_ar}".strip()

    @property
    def status(self) -> str:
        if self.verified_at:
            return "verified"
        return "refused" if self.rejected_reason else "pending"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self) -> ApiTokenQuerySet:
        return self.filter(expires_at__gt=timezone.now(), revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("prefix"), max_length=8)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def new_raw() -> str:
        return "kh_" + secrets.token_urlsafe(32)

    @staticmethod
    def hash(raw: str) -> str:
        return _hash_token(raw)

    def as_dict(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "expires_at": self.expires_at.isoformat()}
