"""Tamkeen support over HTTP (API.md, "Support")."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from khutwa.accounts.models import Enterprise, User
from khutwa.accounts.roles import Role
from khutwa.api.auth import AUTH
from khutwa.api.errors import invalid_fields
from khutwa.api.schemas import CursorPageIn, Day, ListOut, PageIn, PageOut, Problem, cursor_page_of, page_of
from khutwa.errors import NotFound, Refused
from khutwa.http import download
from khutwa.support import selectors, services
from khutwa.support.models import Claim, PayoutBatch, Programme, SupportApplication

router = Router(tags=["support"])
#: The order of selectors.applications_for, ending with the key: the cursor's columns.
APPLICATIONS_ORDER = ("-created_at", "-id")
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem}


class ProgrammeOut(Schema):
    code: str
    name_ar: str
    name_en: str
    kind: str
    rate: str
    is_paused: bool
    open_from: dt.date
    open_until: dt.date | None
    caps: dict[str, str]
    budget: str
    remaining: str
    beneficiaries: str


class EligibilityIn(Schema):
    programme: str = Field(..., max_length=50)
    beneficiary: str = Field(
        "", max_length=150, description="a username (officers only); default: the caller"
    )
    quotation: str = Field(
        "", max_length=600, description="public id or QR content (or the number, as quotation_number)"
    )
    quotation_number: str = Field(
        "",
        max_length=20,
        description="the quotation's number as printed on it (QUO-2026-000002), instead of quotation",
    )


class RuleOut(Schema):
    rule: str
    passed: bool
    explanation_ar: str
    explanation_en: str


class EligibilityOut(Schema):
    eligible: bool
    rules: list[RuleOut]


class ApplicationFilters(CursorPageIn):
    status: str = Field("", max_length=20)
    programme: str = Field("", max_length=50)


class ApplicationIn(Schema):
    programme: str = Field(..., max_length=50)
    quotation: str = Field("", max_length=600, description="the quotation's public id or its QR content")
    quotation_number: str = Field(
        "",
        max_length=20,
        description="the quotation's number as printed on it (QUO-2026-000002), instead of quotation",
    )


class MessageOut(Schema):
    from_officer: bool
    text: str
    at: dt.datetime


class ApplicationOut(Schema):
    id: int
    reference: str
    status: str
    programme: str
    quotation: str | None
    eligibility: list[RuleOut]
    entitlement: str
    expires_on: dt.date | None
    reason: str
    messages: list[MessageOut] = Field(
        default_factory=list, description="what the officer asked and the beneficiary answered"
    )


class DecisionIn(Schema):
    decision: str = Field(..., max_length=20)
    reason: str = Field("", max_length=2000)


class ClaimIn(Schema):
    application: int
    documents: list[str] = Field(..., max_length=20)


class CheckOut(Schema):
    check: str
    passed: bool
    document: str
    reason_ar: str
    reason_en: str


class ClaimOut(Schema):
    id: int
    application: int
    status: str
    checks: list[CheckOut]
    claimed_amount: str
    payable: str


class BatchIn(Schema):
    claims: list[int] = Field(..., max_length=500)
    execution_date: Day | None = None


class BatchOut(Schema):
    id: int
    reference: str
    status: str
    execution_date: dt.date
    total: str
    claims: list[int]


class IbanIn(Schema):
    iban: str = Field(..., max_length=40)


class EnterpriseIn(Schema):
    cr_number: str = Field(..., max_length=20, description="commercial registration, e.g. 145678-1")
    name_ar: str = Field("", max_length=200)
    name_en: str = Field("", max_length=200)


class EnterpriseOut(Schema):
    id: int
    cr_number: str
    name_ar: str
    name_en: str
    status: str = Field(..., description="pending | verified | refused")
    reason: str
    submitted_at: dt.datetime
    verified_at: dt.datetime | None


def enterprise_out(e: Enterprise) -> EnterpriseOut:
    return EnterpriseOut(
        id=e.pk,
        cr_number=e.cr_number,
        name_ar=e.name_ar,
        name_en=e.name_en,
        status=e.status,
        reason=e.rejected_reason,
        submitted_at=e.submitted_at,
        verified_at=e.verified_at,
    )


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def programme_out(p: Programme) -> ProgrammeOut:
    return ProgrammeOut(
        code=p.code,
        name_ar=p.name_ar,
        name_en=p.name_en,
        kind=p.kind,
        rate=f"{p.rate:.3f}",
        is_paused=p.is_paused,
        open_from=p.open_from,
        open_until=p.open_until,
        caps={c.tier.code: f"{c.cap:.3f}" for c in p.caps.all()},
        budget=f"{p.budget:.3f}",
        remaining=f"{p.remaining:.3f}",
        beneficiaries=p.beneficiaries,
    )


def application_out(a: SupportApplication) -> ApplicationOut:
    return ApplicationOut(
        id=a.pk,
        reference=a.reference,
        status=a.status,
        programme=a.programme.code,
        quotation=str(a.quotation.public_id) if a.quotation_id and a.quotation else None,
        eligibility=a.eligibility,
        entitlement=f"{a.entitlement:.3f}",
        expires_on=a.expires_on,
        reason=a.reason,
        messages=[MessageOut(from_officer=m.from_officer, text=m.text, at=m.at) for m in a.messages.all()],
    )


def claim_out(c: Claim) -> ClaimOut:
    return ClaimOut(
        id=c.pk,
        application=c.application_id,
        status=c.status,
        checks=c.checks,
        claimed_amount=f"{c.claimed_amount:.3f}",
        payable=f"{c.payable:.3f}",
    )


def batch_out(b: PayoutBatch) -> BatchOut:
    payouts = list(b.payouts.all())
    return BatchOut(
        id=b.pk,
        reference=b.reference,
        status=b.status,
        execution_date=b.execution_date,
        total=f"{sum(p.amount for p in payouts):.3f}",
        claims=[p.claim_id for p in payouts],
    )


@router.get("/programmes", response={200: ListOut[ProgrammeOut]}, auth=None, summary="Support programmes")
def programme_list(request: HttpRequest) -> dict[str, Any]:
    items = [programme_out(p) for p in selectors.programmes()]
    return {"items": items, "count": len(items)}


@router.post(
    "/eligibility",
    response={200: EligibilityOut, **ERRORS},
    auth=AUTH,
    summary="Each eligibility rule's result, explained in Arabic and English",
)
def eligibility(request: HttpRequest, payload: EligibilityIn) -> EligibilityOut:
    user = _user(request)
    if payload.beneficiary and payload.beneficiary != user.username:
        if not user.has_role("tamkeen_officer"):
            raise Refused("Not found.", status=404)
        found = User.objects.filter(username=payload.beneficiary).first()
        if found is None:
            raise Refused("Not found.", status=404)
        user = found
    rules, _q = services.eligibility_check(
        user=user,
        programme=services.programme_get(payload.programme),
        quotation_ref=payload.quotation or payload.quotation_number,
    )
    return EligibilityOut(
        eligible=all(r.passed for r in rules), rules=[RuleOut(**r.as_dict()) for r in rules]
    )


@router.post(
    "/beneficiary",
    response={200: dict[str, str], **ERRORS},
    auth=AUTH,
    summary="Set the Bahraini IBAN support is paid to",
)
def beneficiary_iban(request: HttpRequest, payload: IbanIn) -> dict[str, str]:
    beneficiary = services.beneficiary_set_iban(actor=_user(request), iban=payload.iban)
    return {"iban": beneficiary.iban}


@router.put(
    "/enterprise",
    response={200: EnterpriseOut, **ERRORS},
    auth=AUTH,
    summary="The business (by commercial registration) the caller acts for; an officer checks it",
)
def enterprise_register(request: HttpRequest, payload: EnterpriseIn) -> EnterpriseOut:
    try:
        enterprise = services.enterprise_register(
            actor=_user(request),
            cr_number=payload.cr_number,
            name_ar=payload.name_ar,
            name_en=payload.name_en,
        )
    except ValidationError as exc:
        raise invalid_fields(exc) from None
    return enterprise_out(enterprise)


@router.get(
    "/enterprises",
    response={200: ListOut[EnterpriseOut], **ERRORS},
    auth=AUTH,
    summary="Officer: businesses awaiting a check of their commercial registration",
)
def enterprise_list(request: HttpRequest, page: Query[PageIn]) -> dict[str, Any]:
    if not _user(request).has_role(Role.TAMKEEN_OFFICER):
        raise Refused(_("You may not do this."), status=403)
    pending = Enterprise.objects.filter(verified_at__isnull=True, rejected_reason="")
    return page_of(pending.order_by("submitted_at", "id"), page, enterprise_out)


@router.post(
    "/enterprises/{enterprise_id}/decision",
    response={200: EnterpriseOut, **ERRORS},
    auth=AUTH,
    summary="Officer: verify (after checking the commercial register) or refuse, with the reason",
)
def enterprise_decide(request: HttpRequest, enterprise_id: int, payload: DecisionIn) -> EnterpriseOut:
    user = _user(request)
    enterprise = Enterprise.objects.filter(pk=enterprise_id).first()
    if enterprise is None or not user.has_role(Role.TAMKEEN_OFFICER):
        raise NotFound(_("Not found."))
    return enterprise_out(
        services.enterprise_decide(
            actor=user, enterprise=enterprise, decision=payload.decision, reason=payload.reason
        )
    )


@router.post(
    "/applications", response={201: ApplicationOut, **ERRORS}, auth=AUTH, summary="Apply for support"
)
def application_create(request: HttpRequest, payload: ApplicationIn) -> tuple[int, ApplicationOut]:
    application = services.application_create(
        actor=_user(request),
        programme_code=payload.programme,
        quotation_ref=payload.quotation or payload.quotation_number,
    )
    return 201, application_out(application)


@router.get(
    "/applications",
    response={200: PageOut[ApplicationOut], **ERRORS},
    auth=AUTH,
    summary="Your applications, or the officer's queue",
)
def application_list(request: HttpRequest, filters: Query[ApplicationFilters]) -> dict[str, Any]:
    qs = selectors.applications_for(_user(request), status=filters.status, programme=filters.programme)
    return cursor_page_of(qs.prefetch_related("messages"), filters, application_out, order=APPLICATIONS_ORDER)


@router.get("/applications/{application_id}", response={200: ApplicationOut, **ERRORS}, auth=AUTH)
def application_get(request: HttpRequest, application_id: int) -> ApplicationOut:
    return application_out(selectors.get_application_for(_user(request), application_id))


@router.post(
    "/applications/{application_id}/decision",
    response={200: ApplicationOut, **ERRORS},
    auth=AUTH,
    summary="Officer: approve (reserves the entitlement), reject or request_info",
)
def application_decide(request: HttpRequest, application_id: int, payload: DecisionIn) -> ApplicationOut:
    application = selectors.get_application_for(_user(request), application_id)
    application = services.application_decide(
        actor=_user(request), application=application, decision=payload.decision, reason=payload.reason
    )
    return application_out(application)


@router.post("/applications/{application_id}/cancel", response={200: ApplicationOut, **ERRORS}, auth=AUTH)
def application_cancel(request: HttpRequest, application_id: int) -> ApplicationOut:
    application = selectors.get_application_for(_user(request), application_id)
    return application_out(services.application_cancel(actor=_user(request), application=application))


@router.post(
    "/claims",
    response={201: ClaimOut, **ERRORS},
    auth=AUTH,
    summary="Claim on official documents; every check runs at once",
)
def claim_create(request: HttpRequest, payload: ClaimIn) -> tuple[int, ClaimOut]:
    application = selectors.get_application_for(_user(request), payload.application)
    claim = services.claim_submit(
        actor=_user(request), application=application, document_refs=payload.documents
    )
    return 201, claim_out(claim)


@router.get("/claims/{claim_id}", response={200: ClaimOut, **ERRORS}, auth=AUTH)
def claim_get(request: HttpRequest, claim_id: int) -> ClaimOut:
    return claim_out(selectors.get_claim_for(_user(request), claim_id))


@router.post(
    "/claims/{claim_id}/decision",
    response={200: ClaimOut, **ERRORS},
    auth=AUTH,
    summary="Officer: approve (when every check passed) or reject",
)
def claim_decide(request: HttpRequest, claim_id: int, payload: DecisionIn) -> ClaimOut:
    claim = selectors.get_claim_for(_user(request), claim_id)
    return claim_out(
        services.claim_decide(
            actor=_user(request), claim=claim, decision=payload.decision, reason=payload.reason
        )
    )


@router.post(
    "/payout-batches", response={201: BatchOut, **ERRORS}, auth=AUTH, summary="Finance: a payout batch"
)
def batch_create(request: HttpRequest, payload: BatchIn) -> tuple[int, BatchOut]:
    batch = services.batch_create(
        actor=_user(request), claim_ids=payload.claims, execution_date=payload.execution_date
    )
    return 201, batch_out(batch)


@router.get(
    "/payout-batches/{batch_id}/pain001",
    response={200: None, **ERRORS},
    auth=AUTH,
    summary="ISO 20022 pain.001.001.03 bank file",
)
def batch_pain001(request: HttpRequest, batch_id: int) -> HttpResponse:
    from khutwa.support.exports import batch_pain001_xml

    batch = selectors.get_batch_for(_user(request), batch_id)
    return download(
        batch_pain001_xml(batch), content_type="application/xml", filename=f"{batch.reference}.xml"
    )


@router.get(
    "/payout-batches/{batch_id}/csv", response={200: None, **ERRORS}, auth=AUTH, summary="CSV of a batch"
)
def batch_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    from khutwa.support.exports import batch_csv_text

    batch = selectors.get_batch_for(_user(request), batch_id)
    return download(
        batch_csv_text(batch), content_type="text/csv; charset=utf-8", filename=f"{batch.reference}.csv"
    )


@router.post(
    "/payout-batches/{batch_id}/paid",
    response={200: BatchOut, **ERRORS},
    auth=AUTH,
    summary="Finance: the bank paid the batch (entitlements consumed; once)",
)
def batch_paid(request: HttpRequest, batch_id: int) -> BatchOut:
    batch = selectors.get_batch_for(_user(request), batch_id)
    return batch_out(services.batch_mark_paid(actor=_user(request), batch=batch))
