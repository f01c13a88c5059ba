"""Licensing and reviews over HTTP (API.md, "Licensing")."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from khutwa.accounts.models import User
from khutwa.api.auth import AUTH
from khutwa.api.errors import ApiProblem, invalid_fields
from khutwa.api.schemas import NOT_BLANK, CursorPageIn, Day, PageOut, Problem, cursor_page_of, enforced
from khutwa.approvals import selectors as review_selectors
from khutwa.approvals import services as review_services
from khutwa.approvals.models import InfoRequest, Inspection, Review, ReviewStatus
from khutwa.catalogue.seed import GOVERNORATES
from khutwa.config.routers import replica_read
from khutwa.licensing import selectors, services
from khutwa.licensing.certificate import licence_check_url
from khutwa.licensing.models import Application, Licence
from khutwa.ratelimit import PurposeThrottle

router = Router(tags=["licensing"])
reviews_router = Router(tags=["reviews"])
licences_router = Router(tags=["licences"])

ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem}

# Model field → the field's path in the request body (API.md).
FIELD_PATHS = {
    **{name: f"applicant.{name}" for name in ("cpr", "name_ar", "name_en", "phone", "email")},
    **{name: f"address.{name}" for name in ("flat", "building", "road", "block", "area", "governorate")},
}


#: What `services.application_input_validate` takes (a pattern of what its regular expressions take).
_SHORT = r"[0-9A-Za-z\u0660-\u0669/-]{1,10}"
_REQUIRED = enforced(pattern=NOT_BLANK)


class ApplicantIn(Schema):
    cpr: str = Field(
        "",
        max_length=20,
        description="9 digits; empty: the caller's own",
        json_schema_extra=enforced(pattern=r"^\s*([0-9]{9})?\s*$"),
    )
    name_ar: str = Field(..., max_length=200, json_schema_extra=_REQUIRED)
    name_en: str = Field(..., max_length=200, json_schema_extra=_REQUIRED)
    phone: str = Field(
        ...,
        max_length=20,
        description="8 digits, optionally after +973",
        json_schema_extra=enforced(pattern=r"^ *(\+973)?( *[0-9]){8} *$"),
    )
    email: str = Field("", max_length=254)


class AddressIn(Schema):
    flat: str = Field("", max_length=10, json_schema_extra=enforced(pattern=rf"^\s*({_SHORT})?\s*$"))
    building: str = Field(..., max_length=10, json_schema_extra=enforced(pattern=rf"^\s*{_SHORT}\s*$"))
    road: str = Field(..., max_length=10, json_schema_extra=enforced(pattern=rf"^\s*{_SHORT}\s*$"))
    block: str = Field(..., max_length=10, json_schema_extra=enforced(pattern=rf"^\s*{_SHORT}\s*$"))
    area: str = Field(..., max_length=100, json_schema_extra=_REQUIRED)
    governorate: str = Field(
        ..., max_length=50, json_schema_extra=enforced(enum=[code for code, _ar, _en in GOVERNORATES])
    )


class LicenceApplicationIn(Schema):
    applicant: ApplicantIn
    address: AddressIn
    trade_name: str = Field(..., max_length=200, json_schema_extra=_REQUIRED)
    activities: list[str] = Field(..., max_length=20)
    tier: str = Field(
        ..., max_length=50, description="a tier code of the catalogue", json_schema_extra=_REQUIRED
    )


class ReviewOut(Schema):
    id: int
    body: str
    status: str
    due_date: dt.date
    decision: str | None
    is_overdue: bool
    reason: str
    conditions: str


class AttachmentOut(Schema):
    id: str
    kind: str
    name: str
    size: int
    content_type: str


class InfoRequestOut(Schema):
    id: int
    review: int
    body: str
    question: str
    asked_at: dt.datetime
    answer: str
    answered_at: dt.datetime | None


class TimelineOut(Schema):
    status: str
    at: dt.datetime
    note: str


class LicenceApplicationOut(Schema):
    id: int
    reference: str
    status: str
    kind: str
    channel: str
    applicant: dict[str, str]
    address: dict[str, str]
    trade_name: str
    tier: str
    activities: list[str]
    licence: str | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    returned_items: str
    rejection_reasons: str
    reviews: list[ReviewOut]
    attachments: list[AttachmentOut]
    info_requests: list[InfoRequestOut]
    timeline: list[TimelineOut]


class ApplicationSummary(Schema):
    id: int
    reference: str
    status: str
    kind: str
    trade_name: str
    governorate: str
    created_at: dt.datetime


class ReviewQueueItem(Schema):
    id: int
    application: int
    reference: str
    body: str
    status: str
    due_date: dt.date
    is_overdue: bool
    trade_name: str
    applicant_name: str


class LicenceOut(Schema):
    number: str
    status: str
    trade_name: str
    tier: str
    activities: list[str]
    valid_from: dt.date
    valid_until: dt.date
    conditions: str
    vat_number: str = Field("", description="VAT account number (printed on its tax invoices); empty if none")
    check_url: str = Field(
        "",
        description="The public check page (the number with its check code, as in the certificate's QR "
        "code); GET /licences/{number} takes the same number-and-code",
    )


class ReasonIn(Schema):
    reason: str = Field("", max_length=2000)


class ItemsIn(Schema):
    items: str = Field(..., max_length=2000)


class BodyIn(Schema):
    body: str = Field(..., max_length=50)
    reason: str = Field(..., max_length=2000)


class AnswerIn(Schema):
    request: int
    answer: str = Field(..., max_length=4000)


class ReviewDecisionIn(Schema):
    decision: str = Field(..., max_length=30)
    reason: str = Field("", max_length=4000)
    conditions: str = Field("", max_length=4000)


class InspectionIn(Schema):
    scheduled_for: Day
    inspector: str = Field(..., max_length=150, description="the inspector's username")


class InspectionOutcomeIn(Schema):
    outcome: str = Field(..., max_length=10)
    notes: str = Field("", max_length=4000)


class InspectionOut(Schema):
    id: int
    scheduled_for: dt.date
    inspector: str
    outcome: str
    notes: str


class AmendmentIn(Schema):
    activities: list[str] = Field(..., max_length=20)
    tier: str = Field(..., max_length=50)
    trade_name: str = Field("", max_length=200)
    address: AddressIn | None = None


class LicenceApplicationFilters(CursorPageIn):
    status: str = Field("", max_length=20)
    q: str = Field("", max_length=100)


class ReviewFilters(CursorPageIn):
    status: str = Field("open", max_length=30)
    overdue: bool = False
    q: str = Field("", max_length=100)


class TrackIn(Schema):
    reference: str = Field(..., min_length=1, max_length=20)
    cpr_last4: str = Field(..., min_length=4, max_length=4, pattern=r"^[0-9]{4}$")


class TrackOut(Schema):
    reference: str
    status: str
    timeline: list[TimelineOut]


DECISION_OF = {
    ReviewStatus.APPROVED: "approve",
    ReviewStatus.APPROVED_WITH_CONDITIONS: "approve_with_conditions",
    ReviewStatus.REJECTED: "reject",
    ReviewStatus.INFO_REQUESTED: "request_info",
}


def _review_out(review: Review, today: dt.date) -> ReviewOut:
    return ReviewOut(
        id=review.pk,
        body=review.body.code,
        status=review.status,
        due_date=review.due_date,
        decision=DECISION_OF.get(review.status),  # type: ignore[call-overload]
        is_overdue=review_selectors.is_overdue(review, today),
        reason=review.reason,
        conditions=review.conditions,
    )


def application_out(application: Application) -> LicenceApplicationOut:
    today = timezone.localdate()
    reviews = list(application.reviews.all())
    requests = InfoRequest.objects.filter(review__application=application).select_related("review__body")
    return LicenceApplicationOut(
        id=application.pk,
        reference=application.reference,
        status=application.status,
        kind=application.kind,
        channel=application.channel,
        applicant={
            "cpr": application.cpr,
            "name_ar": application.name_ar,
            "name_en": application.name_en,
            "phone": application.phone,
            "email": application.email,
        },
        address={
            "flat": application.flat,
            "building": application.building,
            "road": application.road,
            "block": application.block,
            "area": application.area,
            "governorate": application.governorate.code,
        },
        trade_name=application.trade_name,
        tier=application.tier.code,
        activities=[a.code for a in application.activities.all()],
        licence=application.licence.number if application.licence_id and application.licence else None,
        created_at=application.created_at,
        submitted_at=application.submitted_at,
        returned_items=application.returned_items,
        rejection_reasons=application.rejection_reasons,
        reviews=[_review_out(r, today) for r in reviews],
        attachments=[
            AttachmentOut(
                id=str(a.public_id),
                kind=a.kind,
                name=a.original_name,
                size=a.size,
                content_type=a.content_type,
            )
            for a in application.attachments.all()
        ],
        info_requests=[
            InfoRequestOut(
                id=r.pk,
                review=r.review_id,
                body=r.review.body.code,
                question=r.question,
                asked_at=r.asked_at,
                answer=r.answer,
                answered_at=r.answered_at,
            )
            for r in requests
        ],
        timeline=[
            TimelineOut(status=t.to_status, at=t.at, note=t.note) for t in application.transitions.all()
        ],
    )


def licence_out(licence: Licence) -> LicenceOut:
    return LicenceOut(
        number=licence.number,
        status=licence.status,
        trade_name=licence.trade_name,
        tier=licence.tier.code,
        activities=[a.code for a in licence.activities.all()],
        valid_from=licence.valid_from,
        valid_until=licence.valid_until,
        conditions=licence.conditions,
        vat_number=licence.vat_number,
        check_url=licence_check_url(licence),
    )


def _input(payload: LicenceApplicationIn) -> services.ApplicationInput:
    return services.ApplicationInput(
        cpr=payload.applicant.cpr,
        name_ar=payload.applicant.name_ar,
        name_en=payload.applicant.name_en,
        phone=payload.applicant.phone,
        email=payload.applicant.email,
        flat=payload.address.flat,
        building=payload.address.building,
        road=payload.address.road,
        block=payload.address.block,
        area=payload.address.area,
        governorate=payload.address.governorate,
        trade_name=payload.trade_name,
        tier=payload.tier,
        activities=list(payload.activities),
    )


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _application(request: HttpRequest, application_id: int) -> Application:
    return selectors.get_application_for(_user(request), pk=application_id)


def _fresh(request: HttpRequest, application_id: int) -> LicenceApplicationOut:
    return application_out(_application(request, application_id))


@router.post(
    "", response={201: LicenceApplicationOut, **ERRORS}, auth=AUTH, summary="Create a draft application"
)
def application_create(
    request: HttpRequest, payload: LicenceApplicationIn
) -> tuple[int, LicenceApplicationOut]:
    try:
        application = services.application_create(actor=_user(request), data=_input(payload))
    except ValidationError as exc:
        raise invalid_fields(exc, FIELD_PATHS) from None
    return 201, _fresh(request, application.pk)


@router.get("", response={200: PageOut[ApplicationSummary], **ERRORS}, auth=AUTH, summary="Applications")
def application_list(request: HttpRequest, filters: Query[LicenceApplicationFilters]) -> dict[str, Any]:
    status, q = filters.status, filters.q
    user = _user(request)
    from khutwa.accounts.roles import Role

    qs = (
        selectors.pipeline(status=status, query=q)
        if user.has_role(Role.REGISTRAR)
        else selectors.applications_of(user)
    )
    if not user.has_role(Role.REGISTRAR) and status:
        qs = qs.filter(status=status)

    def summary(a: Any) -> ApplicationSummary:
        return ApplicationSummary(
            id=a.pk,
            reference=a.reference,
            status=a.status,
            kind=a.kind,
            trade_name=a.trade_name,
            governorate=a.governorate.code,
            created_at=a.created_at,
        )

    return cursor_page_of(qs.select_related("governorate"), filters, summary, order=selectors.PIPELINE_ORDER)


@router.get(
    "/{application_id}", response={200: LicenceApplicationOut, **ERRORS}, auth=AUTH, summary="One application"
)
def application_get(request: HttpRequest, application_id: int) -> LicenceApplicationOut:
    return _fresh(request, application_id)


@router.put(
    "/{application_id}", response={200: LicenceApplicationOut, **ERRORS}, auth=AUTH, summary="Edit a draft"
)
def application_update(
    request: HttpRequest, application_id: int, payload: LicenceApplicationIn
) -> LicenceApplicationOut:
    application = _application(request, application_id)
    try:
        services.application_update(actor=_user(request), application=application, data=_input(payload))
    except ValidationError as exc:
        raise invalid_fields(exc, FIELD_PATHS) from None
    return _fresh(request, application_id)


def _action(name: str, summary: str, call: Any, schema: Any = None) -> None:
    if schema is None:

        @router.post(
            f"/{{application_id}}/{name}",
            response={200: LicenceApplicationOut, **ERRORS},
            auth=AUTH,
            summary=summary,
            operation_id=f"application_{name}",
        )
        def view(request: HttpRequest, application_id: int) -> LicenceApplicationOut:
            call(actor=_user(request), application=_application(request, application_id))
            return _fresh(request, application_id)

    else:

        @router.post(
            f"/{{application_id}}/{name}",
            response={200: LicenceApplicationOut, **ERRORS},
            auth=AUTH,
            summary=summary,
            operation_id=f"application_{name}",
        )
        def view_with_body(
            request: HttpRequest, application_id: int, payload: schema
        ) -> LicenceApplicationOut:
            call(actor=_user(request), application=_application(request, application_id), payload=payload)
            return _fresh(request, application_id)


_action("submit", "Submit a draft", services.application_submit)
_action("screening", "Registrar: start screening", services.application_start_screening)
_action("accept", "Registrar: screening complete, send to the bodies", services.application_accept)
_action("withdraw", "Applicant: withdraw", services.application_withdraw)
_action(
    "return",
    "Registrar: return for missing items",
    lambda actor, application, payload: services.application_return(
        actor=actor, application=application, items=payload.items
    ),
    ItemsIn,
)
_action(
    "appeal",
    "Applicant: appeal a rejection (once)",
    lambda actor, application, payload: services.application_appeal(
        actor=actor, application=application, reason=payload.reason
    ),
    ReasonIn,
)
_action(
    "bodies",
    "Registrar: add an approving body, with a reason",
    lambda actor, application, payload: services.review_body_add(
        actor=actor, application=application, body_code=payload.body, reason=payload.reason
    ),
    BodyIn,
)
_action(
    "answers",
    "Applicant: answer a body's request for information",
    lambda actor, application, payload: _answer(actor, application, payload),
    AnswerIn,
)


def _answer(actor: User, application: Application, payload: AnswerIn) -> None:
    from khutwa.errors import NotFound

    info = InfoRequest.objects.filter(pk=payload.request, review__application=application).first()
    if info is None or (application.applicant_id != actor.pk and not actor.has_role("registrar")):
        raise NotFound("Not found.")
    review_services.review_answer(actor=actor, info_request=info, answer=payload.answer)


@router.post(
    "/{application_id}/attachments",
    response={201: AttachmentOut, **ERRORS},
    auth=AUTH,
    summary="Attach a document (PDF, PNG or JPEG)",
)
def attachment_add(
    request: HttpRequest, application_id: int, kind: Form[str], file: File[UploadedFile]
) -> tuple[int, AttachmentOut]:
    application = _application(request, application_id)
    content = file.read(50 * 1024 * 1024 + 1)
    attachment = services.attachment_add(
        actor=_user(request), application=application, kind=kind, name=file.name or "", content=content
    )
    return 201, AttachmentOut(
        id=str(attachment.public_id),
        kind=attachment.kind,
        name=attachment.original_name,
        size=attachment.size,
        content_type=attachment.content_type,
    )


@router.post(
    "/{application_id}/licence",
    response={201: LicenceOut, **ERRORS},
    auth=AUTH,
    summary="Registrar: issue the licence of an approved application",
)
def licence_issue(request: HttpRequest, application_id: int) -> tuple[int, LicenceOut]:
    licence = services.licence_issue(actor=_user(request), application=_application(request, application_id))
    return 201, licence_out(licence)


# Reviews -----------------------------------------------------------------------------


@reviews_router.get(
    "",
    response={200: PageOut[ReviewQueueItem], **ERRORS},
    auth=AUTH,
    summary="The caller's body's review queue",
)
def review_list(request: HttpRequest, filters: Query[ReviewFilters]) -> dict[str, Any]:
    status, overdue, q = filters.status, filters.overdue, filters.q
    today = timezone.localdate()
    user = _user(request)
    qs = review_selectors.review_queue(user, status=status, overdue=overdue, query=q, today=today)
    body_code = user.body.code if user.body_id and user.body else ""

    def item(r: Any) -> ReviewQueueItem:
        return ReviewQueueItem(
            id=r.pk,
            application=r.application_id,
            reference=r.application.reference,
            body=body_code,
            status=r.status,
            due_date=r.due_date,
            is_overdue=review_selectors.is_overdue(r, today),
            trade_name=r.application.trade_name,
            applicant_name=r.application.name_ar,
        )

    return cursor_page_of(qs, filters, item, order=review_selectors.QUEUE_ORDER)


@reviews_router.get("/{review_id}", response={200: ReviewOut, **ERRORS}, auth=AUTH, summary="One review")
def review_get(request: HttpRequest, review_id: int) -> ReviewOut:
    return _review_out(review_selectors.get_review_for(_user(request), review_id), timezone.localdate())


@reviews_router.post(
    "/{review_id}/decision",
    response={200: ReviewOut, **ERRORS},
    auth=AUTH,
    summary="Decide: approve, approve_with_conditions, reject or request_info",
)
def review_decide(request: HttpRequest, review_id: int, payload: ReviewDecisionIn) -> ReviewOut:
    review = review_selectors.get_review_for(_user(request), review_id)
    review = review_services.review_decide(
        actor=_user(request),
        review=review,
        decision=payload.decision,
        reason=payload.reason,
        conditions=payload.conditions,
    )
    return _review_out(review_selectors.get_review_for(_user(request), review_id), timezone.localdate())


@reviews_router.post(
    "/{review_id}/inspections",
    response={201: InspectionOut, **ERRORS},
    auth=AUTH,
    summary="Schedule a home inspection",
)
def inspection_schedule(
    request: HttpRequest, review_id: int, payload: InspectionIn
) -> tuple[int, InspectionOut]:
    from django.utils.translation import gettext as _

    from khutwa.errors import Refused

    review = review_selectors.get_review_for(_user(request), review_id)
    inspector = User.objects.filter(username=payload.inspector).first()
    if inspector is None:
        raise Refused(_("Unknown inspector."), field="inspector", status=422)
    inspection = review_services.inspection_schedule(
        actor=_user(request), review=review, scheduled_for=payload.scheduled_for, inspector=inspector
    )
    return 201, _inspection_out(inspection)


@reviews_router.post(
    "/{review_id}/inspections/{inspection_id}/outcome",
    response={200: InspectionOut, **ERRORS},
    auth=AUTH,
    summary="Record an inspection's outcome",
)
def inspection_record(
    request: HttpRequest, review_id: int, inspection_id: int, payload: InspectionOutcomeIn
) -> InspectionOut:
    from khutwa.errors import NotFound

    review = review_selectors.get_review_for(_user(request), review_id)
    inspection = Inspection.objects.filter(pk=inspection_id, review=review).first()
    if inspection is None:
        raise NotFound("Not found.")
    inspection = review_services.inspection_record(
        actor=_user(request), inspection=inspection, outcome=payload.outcome, notes=payload.notes
    )
    return _inspection_out(inspection)


def _inspection_out(inspection: Inspection) -> InspectionOut:
    return InspectionOut(
        id=inspection.pk,
        scheduled_for=inspection.scheduled_for,
        inspector=inspection.inspector.username,
        outcome=inspection.outcome,
        notes=inspection.notes,
    )


# Licences ----------------------------------------------------------------------------


@licences_router.get(
    "/{number}",
    response={200: LicenceOut, **ERRORS},
    auth=None,
    throttle=[PurposeThrottle("licence")],
    summary="Public licence check (nothing personal)",
    description="`number` is the licence number with its check code, as printed on the certificate "
    "and in its QR code (KH-2026-000123-KQWMTR): licence numbers are sequential, and a bare, unknown "
    "or wrongly coded number is 404 alike. The holder and the registrar find the code in `check_url`.",
)
@replica_read
def licence_get(request: HttpRequest, number: str) -> LicenceOut:
    return licence_out(selectors.licence_public(number))


def _licence_action(action: str) -> None:
    @licences_router.post(
        f"/{{number}}/{action}",
        response={200: LicenceOut, **ERRORS},
        auth=AUTH,
        summary=f"{action.capitalize()} a licence (with a reason)",
        operation_id=f"licence_{action}",
    )
    def view(request: HttpRequest, number: str, payload: ReasonIn) -> LicenceOut:
        licence = selectors.get_licence_for(_user(request), number)
        licence = services.licence_change_status(
            actor=_user(request), licence=licence, action=action, reason=payload.reason
        )
        return licence_out(licence)


for _name in ("suspend", "reinstate", "cancel"):
    _licence_action(_name)


class VatNumberIn(Schema):
    vat_number: str = Field("", max_length=20, description="15 digits; empty when no longer VAT-registered")


@licences_router.post(
    "/{number}/vat",
    response={200: LicenceOut, **ERRORS},
    auth=AUTH,
    summary="Registrar: record the holder's VAT account number (or clear it)",
)
def licence_vat(request: HttpRequest, number: str, payload: VatNumberIn) -> LicenceOut:
    licence = selectors.get_licence_for(_user(request), number)
    try:
        licence = services.licence_set_vat_number(
            actor=_user(request), licence=licence, vat_number=payload.vat_number
        )
    except ValidationError as exc:
        raise invalid_fields(exc) from None
    return licence_out(licence)


@licences_router.post(
    "/{number}/renew",
    response={201: LicenceApplicationOut, **ERRORS},
    auth=AUTH,
    summary="Open a renewal application",
)
def licence_renew(request: HttpRequest, number: str, payload: ReasonIn) -> tuple[int, LicenceApplicationOut]:
    licence = selectors.get_licence_for(_user(request), number)
    application = services.renewal_open(actor=_user(request), licence=licence)
    return 201, _fresh(request, application.pk)


@licences_router.post(
    "/{number}/amend",
    response={201: LicenceApplicationOut, **ERRORS},
    auth=AUTH,
    summary="Open an amendment application",
)
def licence_amend(
    request: HttpRequest, number: str, payload: AmendmentIn
) -> tuple[int, LicenceApplicationOut]:
    licence = selectors.get_licence_for(_user(request), number)
    data = services.licence_input(licence)
    data.activities = list(payload.activities)
    data.tier = payload.tier
    if payload.trade_name:
        data.trade_name = payload.trade_name
    if payload.address is not None:
        for name in ("flat", "building", "road", "block", "area", "governorate"):
            setattr(data, name, getattr(payload.address, name))
    try:
        application = services.amendment_open(actor=_user(request), licence=licence, data=data)
    except ValidationError as exc:
        raise invalid_fields(exc, FIELD_PATHS) from None
    return 201, _fresh(request, application.pk)


# Mounted at /applications/track before the applications router (whose /{application_id}
# would otherwise take the address).
track_router = Router(tags=["licensing"])


@track_router.post(
    "",
    response={200: TrackOut, **ERRORS},
    auth=None,
    throttle=[PurposeThrottle("track")],
    summary="Public tracking: reference + last 4 digits of the CPR (in the body, never the address)",
)
def track(request: HttpRequest, payload: TrackIn) -> TrackOut:
    from khutwa import ratelimit
    from khutwa.errors import NotFound

    reference = payload.reference.strip().upper()
    # Failed attempts on one reference are limited whoever makes them (guessing its 4 digits).
    if ratelimit.exhausted("track-reference", reference):
        raise ApiProblem(429, _("Too many attempts on this reference; try again later."))
    application = selectors.track(reference, payload.cpr_last4)
    if application is None:
        ratelimit.hit("track-reference", reference)
        raise NotFound("Not found.")
    return TrackOut(
        reference=application.reference,
        status=application.status,
        timeline=[TimelineOut(status=t.to_status, at=t.at, note="") for t in application.transitions.all()],
    )
