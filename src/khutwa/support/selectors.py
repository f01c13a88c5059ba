from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from khutwa.accounts.roles import Role
from khutwa.errors import NotFound
from khutwa.support.models import Claim, PayoutBatch, Programme, SupportApplication


def programmes() -> QuerySet[Programme]:
    return Programme.objects.prefetch_related("caps__tier").order_by("code")


def applications_for(user: Any, *, status: str = "", programme: str = "") -> QuerySet[SupportApplication]:
    qs = SupportApplication.objects.select_related("programme", "quotation", "beneficiary", "licence__tier")
    if not user.has_role(Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE):
        qs = qs.filter(beneficiary=user)
    if status:
        qs = qs.filter(status=status)
    if programme:
        qs = qs.filter(programme__code=programme)
    return qs.order_by("-created_at", "-id")


def get_application_for(user: Any, pk: int) -> SupportApplication:
    application = applications_for(user).filter(pk=pk).first()
    if application is None:
        raise NotFound("Not found.")
    return application


def get_claim_for(user: Any, pk: int) -> Claim:
    qs = Claim.objects.select_related("application__programme", "application__beneficiary")
    if not user.has_role(Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE):
        qs = qs.filter(application__beneficiary=user)
    claim = qs.filter(pk=pk).first()
    if claim is None:
        raise NotFound("Not found.")
    return claim


def get_batch_for(user: Any, pk: int) -> PayoutBatch:
    if not user.has_role(Role.TAMKEEN_FINANCE):
        raise NotFound("Not found.")
    batch = PayoutBatch.objects.filter(pk=pk).first()
    if batch is None:
        raise NotFound("Not found.")
    return batch
