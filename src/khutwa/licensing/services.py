"""Writes of the licensing domain: applications, their life, and the licences they produce."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from khutwa.accounts.models import User
from khutwa.accounts.roles import Role
from khutwa.accounts.selectors import contact_confirmed
from khutwa.accounts.validators import validate_cpr, validate_vat_number
from khutwa.approvals import services as approvals
from khutwa.approvals.models import ReviewStatus
from khutwa.arabic import normalize
from khutwa.audit.services import audit_record
from khutwa.catalogue.models import Activity, ApprovingBody, Governorate, Policy
from khutwa.catalogue.services import activity_selection_validate, bodies_required
from khutwa.config.files import write_new
from khutwa.errors import NotFound, Refused
from khutwa.licensing import workflow
from khutwa.licensing.models import (
    OPEN_STATUSES,
    Application,
    ApplicationKind,
    ApplicationStatus,
    Attachment,
    AttachmentKind,
    Channel,
    Licence,
    LicenceEvent,
    LicenceStatus,
)
from khutwa.licensing.numbering import application_reference, licence_number
from khutwa.licensing.tasks import certificate_pdf_render
from khutwa.text import without_bidi
from khutwa.tlog.services import licence_event_log
from khutwa.webhooks import payloads as webhook_payloads
from khutwa.webhooks.services import events_emit

PHONE_RE = re.compile(r"^(\+973)?[0-9]{8}$")
SHORT_FIELD_RE = re.compile(r"^[0-9A-Za-z\u0660-\u0669/-]{1,10}$")


@dataclass
class ApplicationInput:
    """What an applicant fills in; validated by `application_input_validate`."""

    cpr: str = ""
    name_ar: str = ""
    name_en: str = ""
    phone: str = ""
    email: str = ""
    flat: str = ""
    building: str = ""
    road: str = ""
    block: str = ""
    area: str = ""
    governorate: str = ""
    trade_name: str = ""
    tier: str = ""
    activities: list[str] = field(default_factory=list)


def address_key(*, block: str, road: str, building: str, flat: str) -> str:
    parts = [normalize(p).replace(" ", "") for p in (block, road, building, flat)]
    return "|".join(parts)


def _name_search(*parts: str) -> str:
    return " ".join(normalize(p) for p in parts if p)[:500]


def application_input_validate(data: ApplicationInput) -> tuple[Any, list[Activity], Governorate]:
    """Every field checked at once; raise ValidationError naming each bad field."""
    errors: dict[str, list[str]] = {}

    def need(name: str, value: str, label: str) -> None:
        if not value.strip():
            errors.setdefault(name, []).append(_("%(field)s is required.") % {"field": label})

    for name in (
        "cpr",
        "name_ar",
        "name_en",
        "phone",
        "building",
        "road",
        "block",
        "area",
        "governorate",
        "trade_name",
        "tier",
    ):
        need(name, getattr(data, name), _label(name))
    if data.cpr.strip():
        try:
            validate_cpr(data.cpr.strip())
        except ValidationError as exc:
            errors.setdefault("cpr", []).extend(str(m) for m in exc.messages)
    if data.phone.strip() and not PHONE_RE.match(data.phone.replace(" ", "")):
        errors.setdefault("phone", []).append(
            _("Enter a Bahraini phone number: 8 digits, optionally after +973.")
        )
    if data.email.strip():
        try:
            validate_email(data.email.strip())
        except ValidationError:
            errors.setdefault("email", []).append(_("Enter a valid e-mail address."))
    for name in ("flat", "building", "road", "block"):
        value = getattr(data, name).strip()
        if value and not SHORT_FIELD_RE.match(value):
            errors.setdefault(name, []).append(_("Use digits (and letters) only, up to 10 characters."))
    for name, limit in (("name_ar", 200), ("name_en", 200), ("trade_name", 200), ("area", 100)):
        if len(getattr(data, name)) > limit:
            errors.setdefault(name, []).append(
                _("Ensure this value has at most %(max)s characters.") % {"max": limit}
            )
    governorate = Governorate.objects.filter(code=data.governorate).first()
    if data.governorate and governorate is None:
        errors.setdefault("governorate", []).append(
            _("Unknown governorate “%(code)s”.") % {"code": data.governorate}
        )
    tier = None
    activities: list[Activity] = []
    if data.tier.strip() or data.activities:
        try:
            tier, activities = activity_selection_validate(
                tier_code=data.tier, activity_codes=data.activities
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if name == "tier" and "tier" in errors:
                    continue
                errors.setdefault(name, []).extend(messages)
    elif not data.activities:
        errors.setdefault("activities", []).append(_("Choose at least one activity."))
    if errors:
        raise ValidationError(errors)
    assert governorate is not None and tier is not None  # noqa: S101 - checked above
    return tier, activities, governorate


def _label(name: str) -> str:
    return str(getattr(Application._meta.get_field(name), "verbose_name", name))


def _duplicates_check(*, cpr: str, key: str, exclude_pk: int | None) -> None:
    open_apps = Application.objects.filter(kind=ApplicationKind.NEW, status__in=OPEN_STATUSES)
    if exclude_pk:
        open_apps = open_apps.exclude(pk=exclude_pk)
    existing = open_apps.filter(cpr=cpr).first()
    if existing:
        raise Refused(
            _("This CPR number already has an open application, %(ref)s.") % {"ref": existing.reference},
            field="cpr",
        )
    live = Licence.objects.filter(status__in=[LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED])
    licence = live.filter(cpr=cpr).first()
    if licence:
        raise Refused(
            _("This CPR number already holds licence %(number)s; amend or renew it instead.")
            % {"number": licence.number},
            field="cpr",
        )
    existing = open_apps.filter(address_key=key).first()
    if existing:
        raise Refused(
            _("This home already has an open application, %(ref)s.") % {"ref": existing.reference},
            field="address",
        )
    licence = live.filter(address_key=key).first()
    if licence:
        raise Refused(
            _("This home already holds licence %(number)s.") % {"number": licence.number},
            field="address",
        )


def _fill(application: Application, data: ApplicationInput, tier: Any, governorate: Governorate) -> None:
    application.cpr = data.cpr.strip()
    application.name_ar = data.name_ar.strip()
    application.name_en = data.name_en.strip()
    application.phone = data.phone.replace(" ", "")
    application.email = data.email.strip()
    application.flat = data.flat.strip()
    application.building = data.building.strip()
    application.road = data.road.strip()
    application.block = data.block.strip()
    application.area = data.area.strip()
    application.governorate = governorate
    application.trade_name = data.trade_name.strip()
    application.tier = tier
    application.address_key = address_key(
        block=application.block,
        road=application.road,
        building=application.building,
        flat=application.flat,
    )
    application.name_search = _name_search(application.name_ar, application.name_en, application.trade_name)


def application_create(
    *,
    actor: User,
    data: ApplicationInput,
    kind: str = ApplicationKind.NEW,
    licence: Licence | None = None,
    now: dt.datetime | None = None,
) -> Application:
    """A draft application. An applicant files for themself (the CPR must be theirs); the
    registrar files on behalf of a walk-in (the assisted channel), recorded as such."""
    data = without_bidi(data)  # the names and trade name go onto the certificate and documents
    assisted = actor.has_role(Role.REGISTRAR)
    if not assisted:
        if not actor.cpr:
            raise Refused(_("Add your CPR number to your account before applying."), field="cpr", status=422)
        if kind == ApplicationKind.NEW and not contact_confirmed(actor):
            raise Refused(
                _("Confirm your e-mail address or your mobile number before applying."),
                field="email",
                status=403,
            )
        if data.cpr.strip() and data.cpr.strip() != actor.cpr:
            raise Refused(
                _("You can apply only for yourself: use your own CPR number."),
                field="cpr",
                status=422,
            )
        data.cpr = actor.cpr
    tier, activities, governorate = application_input_validate(data)
    now = now or timezone.now()
    application = Application(
        kind=kind,
        licence=licence,
        filed_by=actor,
        channel=Channel.ASSISTED if assisted else Channel.ONLINE,
        created_at=now,
    )
    _fill(application, data, tier, governorate)
    if assisted:
        application.applicant = User.objects.filter(cpr=application.cpr).first()
    else:
        application.applicant = actor
    try:
        with transaction.atomic():
            if kind == ApplicationKind.NEW:
                _duplicates_check(cpr=application.cpr, key=application.address_key, exclude_pk=None)
            application.reference = application_reference(timezone.localtime(now).year)
            application.save()
            application.activities.set(activities)
            if application.applicant and not application.applicant.has_role(Role.APPLICANT):
                roles = application.applicant.role_names() | {Role.APPLICANT}
                from khutwa.accounts.services import user_set_roles

                user_set_roles(user=application.applicant, roles=roles, actor=actor)
            audit_record(
                actor=actor,
                action="licensing.application.create",
                obj=application,
                after={
                    "kind": kind,
                    "channel": application.channel,
                    "tier": tier.code,
                    "activities": [a.code for a in activities],
                    "governorate": governorate.code,
                },
            )
    except IntegrityError:
        raise Refused(_("This CPR number or home already has an open application."), field="cpr") from None
    return application


def application_update(*, actor: User, application: Application, data: ApplicationInput) -> Application:
    """Edit a draft (also one returned by the registrar for missing items)."""
    data = without_bidi(data)
    _authorise_applicant(actor, application)
    if application.status != ApplicationStatus.DRAFT:
        raise Refused(_("Only a draft can be edited."), field="status")
    if not actor.has_role(Role.REGISTRAR):
        data.cpr = application.cpr
    tier, activities, governorate = application_input_validate(data)
    try:
        with transaction.atomic():
            locked = Application.objects.select_for_update().get(pk=application.pk)
            before = {"tier": locked.tier.code, "trade_name": locked.trade_name}
            _fill(locked, data, tier, governorate)
            if locked.kind == ApplicationKind.NEW:
                _duplicates_check(cpr=locked.cpr, key=locked.address_key, exclude_pk=locked.pk)
            locked.save()
            locked.activities.set(activities)
            audit_record(
                actor=actor,
                action="licensing.application.update",
                obj=locked,
                before=before,
                after={
                    "tier": tier.code,
                    "trade_name": locked.trade_name,
                    "activities": [a.code for a in activities],
                },
            )
    except IntegrityError:
        raise Refused(_("This CPR number or home already has an open application."), field="cpr") from None
    application.refresh_from_db()
    return application


def _authorise_applicant(actor: User, application: Application) -> None:
    """The applicant themself, or the registrar (assisted channel)."""
    if actor.has_role(Role.REGISTRAR):
        return
    if application.applicant_id != actor.pk:
        raise NotFound(_("Not found."))


def _require_registrar(actor: User) -> None:
    if not actor.has_role(Role.REGISTRAR):
        raise Refused(_("Only the registrar may do this."), status=403)


def application_submit(*, actor: User, application: Application) -> Application:
    _authorise_applicant(actor, application)
    kind = workflow.APPLICANT if application.applicant_id == actor.pk else workflow.REGISTRAR
    return workflow.transition(
        application, "submit", actor=actor, actor_kind=kind, changes={"returned_items": ""}
    )


def application_start_screening(*, actor: User, application: Application) -> Application:
    _require_registrar(actor)
    return workflow.transition(application, "start_screening", actor=actor, actor_kind=workflow.REGISTRAR)


def application_return(*, actor: User, application: Application, items: str) -> Application:
    _require_registrar(actor)
    if not items.strip():
        raise Refused(_("List the items that are missing."), field="items", status=422)
    return workflow.transition(
        application,
        "return",
        actor=actor,
        actor_kind=workflow.REGISTRAR,
        note=items.strip(),
        changes={"returned_items": items.strip()},
    )


def routing_bodies(application: Application) -> list[ApprovingBody]:
    """The bodies an application goes to: the union over its activities for a new licence;
    for an amendment only the bodies newly needed (all of them when the home changes); for a
    renewal those the policy names among the ones its activities need."""
    activities = list(application.activities.prefetch_related("bodies"))
    needed = bodies_required(activities)
    if application.kind == ApplicationKind.NEW or application.licence is None:
        return needed
    licence = application.licence
    if application.kind == ApplicationKind.RENEWAL:
        chosen = set(Policy.current().renewal_bodies.values_list("pk", flat=True))
        return [b for b in needed if b.pk in chosen]
    if application.address_key != licence.address_key:
        return needed
    before = {b.pk for b in bodies_required(list(licence.activities.prefetch_related("bodies")))}
    return [b for b in needed if b.pk not in before]


def application_accept(*, actor: User, application: Application) -> Application:
    """Screening complete: route to the bodies; with none to ask, it is approved at once."""
    _require_registrar(actor)
    with transaction.atomic():
        application = workflow.transition(application, "accept", actor=actor, actor_kind=workflow.REGISTRAR)
        bodies = routing_bodies(application)
        approvals.reviews_open(application=application, bodies=bodies, actor=actor)
        if not bodies:
            application = workflow.transition(
                application,
                "approve",
                actor=actor,
                actor_kind=workflow.REGISTRAR,
                note=_("No approving body needs to review this change."),
            )
    return application


def application_withdraw(*, actor: User, application: Application) -> Application:
    _authorise_applicant(actor, application)
    with transaction.atomic():
        application = workflow.transition(application, "withdraw", actor=actor, actor_kind=workflow.APPLICANT)
        approvals.reviews_close_open(application=application)
    return application


def application_appeal(
    *, actor: User, application: Application, reason: str, today: dt.date | None = None
) -> Application:
    """Once, within the policy's days after the rejection: the rejecting body reviews again."""
    _authorise_applicant(actor, application)
    if not reason.strip():
        raise Refused(_("Explain why the decision should change."), field="reason", status=422)
    if application.appealed_at is not None:
        raise Refused(_("This application was already appealed once."))
    if application.status == ApplicationStatus.REJECTED and application.decided_at:
        days = Policy.current().appeal_days
        today = today or timezone.localdate()
        if today > timezone.localtime(application.decided_at).date() + dt.timedelta(days=days):
            raise Refused(_("The %(days)s days to appeal have passed.") % {"days": days})
    with transaction.atomic():
        application = workflow.transition(
            application,
            "appeal",
            actor=actor,
            actor_kind=workflow.APPLICANT,
            note=reason.strip(),
            changes={"appealed_at": timezone.now(), "appeal_reason": reason.strip()},
        )
        approvals.reviews_reopen_for_appeal(application=application, actor=actor)
    return application


# Attachments -------------------------------------------------------------------------

ALLOWED_TYPES = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
}


def attachment_dir() -> Path:
    path = Path(settings.KHUTWA_PRIVATE_DIR) / "attachments"
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        for folder in (path.parent, path):  # the private folder and its attachments: 0750
            folder.chmod(settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS)
    return path


def attachment_add(
    *, actor: User, application: Application, kind: str, name: str, content: bytes
) -> Attachment:
    """Store a PDF, PNG or JPEG (checked by its bytes, not its name) outside the web root."""
    _authorise_applicant(actor, application)
    if application.status not in (
        ApplicationStatus.DRAFT,
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.SCREENING,
    ):
        raise Refused(_("Attachments can be added until the application is accepted."))
    if kind not in AttachmentKind.values:
        raise Refused(_("Choose the kind of document."), field="kind", status=422)
    limit = Policy.current().attachment_max_mb * 1024 * 1024
    if not content:
        raise Refused(_("The file is empty."), field="file", status=422)
    if len(content) > limit:
        raise Refused(
            _("The file is larger than %(mb)s MB.") % {"mb": Policy.current().attachment_max_mb},
            field="file",
            status=422,
        )
    detected = next((v for magic, v in ALLOWED_TYPES.items() if content.startswith(magic)), None)
    if detected is None:
        raise Refused(_("Upload a PDF, PNG or JPEG file."), field="file", status=422)
    content_type, suffix = detected
    storage_name = f"{uuid.uuid4().hex}{suffix}"
    path = attachment_dir() / storage_name
    with transaction.atomic():
        attachment = Attachment.objects.create(
            application=application,
            kind=kind,
            original_name=Path(name).name[:200] or f"document{suffix}",
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            storage_name=storage_name,
            uploaded_by=actor,
            uploaded_at=timezone.now(),
        )
        write_new(path, content, mode=settings.FILE_UPLOAD_PERMISSIONS)  # 0640, whatever the umask
        audit_record(
            actor=actor,
            action="licensing.attachment.add",
            obj=application,
            after={"kind": kind, "sha256": attachment.sha256, "size": attachment.size},
        )
    return attachment


def attachment_path(attachment: Attachment) -> Path:
    return attachment_dir() / attachment.storage_name


# Licences ----------------------------------------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)


def _conditions(application: Application) -> str:
    rows = application.reviews.filter(status=ReviewStatus.APPROVED_WITH_CONDITIONS).select_related("body")
    return "\n".join(f"{r.body.name_ar} / {r.body.name_en}: {r.conditions}" for r in rows)


def _licence_event(
    licence: Licence,
    kind: str,
    *,
    actor: Any,
    reason: str = "",
    application: Application | None = None,
) -> None:
    # The certificate shows the new state: a worker renders it once committed.
    transaction.on_commit(partial(certificate_pdf_render.enqueue, licence.pk))
    at = timezone.now()
    LicenceEvent.objects.create(
        licence=licence,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason,
        application=application,
        at=at,
    )
    licence_event_log(licence=licence, event=kind, at=at)  # the public log's outbox: one row
    audit_record(
        actor=actor,
        action=f"licensing.licence.{kind}",
        obj=licence,
        after={
            "status": licence.status,
            "valid_until": licence.valid_until.isoformat(),
            "reason": reason,
        },
    )
    events_emit(webhook_payloads.licence_changed(licence, kind))


def licence_issue(*, actor: User, application: Application, today: dt.date | None = None) -> Licence:
    """The registrar issues (or, for a renewal or amendment, updates) the licence."""
    _require_registrar(actor)
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.status != ApplicationStatus.APPROVED:
            raise Refused(
                _("A licence can be issued only for an approved application; this one is “%(status)s”.")
                % {"status": locked.get_status_display()},
                field="status",
            )
        if locked.kind == ApplicationKind.NEW:
            licence = _licence_new(locked, actor, today)
        elif locked.kind == ApplicationKind.RENEWAL:
            licence = _licence_renew(locked, actor, today)
        else:
            licence = _licence_amend(locked, actor)
        workflow.transition(
            locked,
            "issue_licence",
            actor=actor,
            actor_kind=workflow.REGISTRAR,
            note=licence.number,
            changes={"licence": licence},
        )
        if licence.holder and not licence.holder.has_role(Role.HOLDER):
            from khutwa.accounts.services import user_set_roles

            user_set_roles(
                user=licence.holder, roles=licence.holder.role_names() | {Role.HOLDER}, actor=actor
            )
    return licence


def _copy_identity(licence: Licence, application: Application) -> None:
    for name in (
        "flat",
        "building",
        "road",
        "block",
        "area",
        "governorate_id",
        "address_key",
        "trade_name",
        "tier_id",
        "name_ar",
        "name_en",
    ):
        setattr(licence, name, getattr(application, name))


def _licence_new(application: Application, actor: User, today: dt.date) -> Licence:
    licence = Licence(
        number=licence_number(today.year),
        holder=application.applicant,
        cpr=application.cpr,
        conditions=_conditions(application),
        valid_from=today,
        valid_until=_add_months(today, application.tier.validity_months) - dt.timedelta(days=1),
        issued_at=timezone.now(),
    )
    _copy_identity(licence, application)
    try:
        with transaction.atomic():
            licence.save()
    except IntegrityError:
        raise Refused(_("This CPR number already holds a licence."), field="cpr") from None
    licence.activities.set(application.activities.all())
    _licence_event(licence, LicenceEvent.Kind.ISSUED, actor=actor, application=application)
    return licence


def _licence_renew(application: Application, actor: User, today: dt.date) -> Licence:
    assert application.licence_id is not None  # noqa: S101 - renewals always name one
    licence = Licence.objects.select_for_update().get(pk=application.licence_id)
    start = max(licence.valid_until + dt.timedelta(days=1), today)
    licence.valid_until = _add_months(start, licence.tier.validity_months) - dt.timedelta(days=1)
    if licence.status == LicenceStatus.EXPIRED:
        licence.status = LicenceStatus.ACTIVE
    extra = _conditions(application)
    if extra:
        licence.conditions = "\n".join(filter(None, [licence.conditions, extra]))
    licence.save()
    _licence_event(licence, LicenceEvent.Kind.RENEWED, actor=actor, application=application)
    return licence


def _licence_amend(application: Application, actor: User) -> Licence:
    assert application.licence_id is not None  # noqa: S101 - amendments always name one
    licence = Licence.objects.select_for_update().get(pk=application.licence_id)
    _copy_identity(licence, application)
    extra = _conditions(application)
    if extra:
        licence.conditions = "\n".join(filter(None, [licence.conditions, extra]))
    licence.save()
    licence.activities.set(application.activities.all())
    _licence_event(licence, LicenceEvent.Kind.AMENDED, actor=actor, application=application)
    return licence


def _licence_change_open(*, actor: User, licence: Licence, kind: str, data: ApplicationInput) -> Application:
    if not (actor.has_role(Role.REGISTRAR) or licence.holder_id == actor.pk):
        raise NotFound(_("Not found."))
    return application_create(actor=actor, data=data, kind=kind, licence=licence)


def licence_input(licence: Licence) -> ApplicationInput:
    """The licence's current content, as the starting point of a renewal or amendment."""
    holder = licence.holder
    return ApplicationInput(
        cpr=licence.cpr,
        name_ar=licence.name_ar,
        name_en=licence.name_en,
        phone=(holder.phone if holder and holder.phone else "") or _last_phone(licence),
        email=holder.email if holder else "",
        flat=licence.flat,
        building=licence.building,
        road=licence.road,
        block=licence.block,
        area=licence.area,
        governorate=licence.governorate.code,
        trade_name=licence.trade_name,
        tier=licence.tier.code,
        activities=[a.code for a in licence.activities.all()],
    )


def application_input(application: Application) -> ApplicationInput:
    """An application's content as form input (to edit a draft)."""
    return ApplicationInput(
        cpr=application.cpr,
        name_ar=application.name_ar,
        name_en=application.name_en,
        phone=application.phone,
        email=application.email,
        flat=application.flat,
        building=application.building,
        road=application.road,
        block=application.block,
        area=application.area,
        governorate=application.governorate.code,
        trade_name=application.trade_name,
        tier=application.tier.code,
        activities=[a.code for a in application.activities.all()],
    )


def _last_phone(licence: Licence) -> str:
    app = (
        licence.applications.order_by("-created_at").first()
        or Application.objects.filter(cpr=licence.cpr).order_by("-created_at").first()
    )
    return app.phone if app else ""


def renewal_open(*, actor: User, licence: Licence, today: dt.date | None = None) -> Application:
    """Renewal opens the policy's number of days before expiry (and after it has expired)."""
    today = today or timezone.localdate()
    if licence.status not in (LicenceStatus.ACTIVE, LicenceStatus.EXPIRED):
        raise Refused(_("A %(status)s licence cannot be renewed.") % {"status": licence.get_status_display()})
    window = Policy.current().renewal_window_days
    opens = licence.valid_until - dt.timedelta(days=window)
    if today < opens:
        raise Refused(_("Renewal opens on %(date)s.") % {"date": opens.isoformat()})
    return _licence_change_open(
        actor=actor, licence=licence, kind=ApplicationKind.RENEWAL, data=licence_input(licence)
    )


def amendment_open(*, actor: User, licence: Licence, data: ApplicationInput) -> Application:
    if licence.status != LicenceStatus.ACTIVE:
        raise Refused(_("Only an active licence can be amended."))
    data.cpr = licence.cpr
    return _licence_change_open(actor=actor, licence=licence, kind=ApplicationKind.AMENDMENT, data=data)


_MOVES = {
    "suspend": ({LicenceStatus.ACTIVE}, LicenceStatus.SUSPENDED, LicenceEvent.Kind.SUSPENDED),
    "reinstate": ({LicenceStatus.SUSPENDED}, LicenceStatus.ACTIVE, LicenceEvent.Kind.REINSTATED),
    "cancel": (
        {LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED},
        LicenceStatus.CANCELLED,
        LicenceEvent.Kind.CANCELLED,
    ),
}


def licence_change_status(
    *, actor: User, licence: Licence, action: str, reason: str, today: dt.date | None = None
) -> Licence:
    """Suspend, reinstate or cancel (registrar, with a reason); the holder may cancel their own."""
    if action not in _MOVES:
        raise Refused(_("Unknown action."), field="action", status=422)
    is_registrar = actor.has_role(Role.REGISTRAR)
    is_holder = licence.holder_id == actor.pk
    if not is_registrar and not (is_holder and action == "cancel"):
        if is_holder:
            raise Refused(_("Only the registrar may do this."), status=403)
        raise NotFound(_("Not found."))
    reason = reason.strip()
    if is_registrar and not reason:
        raise Refused(_("Give the reason; the holder will see it."), field="reason", status=422)
    sources, target, kind = _MOVES[action]
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = Licence.objects.select_for_update().get(pk=licence.pk)
        if locked.status not in sources:
            raise Refused(
                _("A licence that is “%(status)s” cannot be changed this way.")
                % {"status": locked.get_status_display()},
                field="status",
            )
        if action == "reinstate" and locked.valid_until < today:
            target, kind = LicenceStatus.EXPIRED, LicenceEvent.Kind.EXPIRED
        locked.status = target
        locked.status_reason = reason
        locked.save(update_fields=["status", "status_reason"])
        _licence_event(locked, kind, actor=actor, reason=reason)
    licence.refresh_from_db()
    return licence


def licence_set_vat_number(*, actor: User, licence: Licence, vat_number: str) -> Licence:
    """The registrar records the holder's VAT account number (from the National Bureau for
    Revenue's registration certificate), or clears it: from then on the holder's invoices are
    tax invoices with VAT, or plain invoices without. Documents already issued keep theirs."""
    if not actor.has_role(Role.REGISTRAR):
        if licence.holder_id == actor.pk:
            raise Refused(_("Only the registrar may do this."), status=403)
        raise NotFound(_("Not found."))
    vat_number = vat_number.strip()
    if vat_number:
        try:
            validate_vat_number(vat_number)
        except ValidationError as exc:
            raise ValidationError({"vat_number": list(exc.messages)}) from None
    with transaction.atomic():
        locked = Licence.objects.select_for_update().get(pk=licence.pk)
        before = locked.vat_number
        locked.vat_number = vat_number
        locked.save(update_fields=["vat_number"])
        audit_record(
            actor=actor,
            action="licensing.licence.vat_number",
            obj=locked,
            before={"vat_number": before},
            after={"vat_number": vat_number},
        )
    licence.refresh_from_db()
    return licence


def licences_expire(*, today: dt.date | None = None) -> int:
    """Expire every live licence whose validity has ended. Idempotent: run it daily."""
    today = today or timezone.localdate()
    count = 0
    due = Licence.objects.filter(
        status__in=[LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED], valid_until__lt=today
    )
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            licence = Licence.objects.select_for_update().get(pk=pk)
            if (
                licence.status in (LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED)
                and licence.valid_until < today
            ):
                licence.status = LicenceStatus.EXPIRED
                licence.save(update_fields=["status"])
                _licence_event(
                    licence,
                    LicenceEvent.Kind.EXPIRED,
                    actor=None,
                    reason=f"valid until {licence.valid_until.isoformat()}",
                )
                count += 1
    return count


def notices_mark_read(*, user: User) -> int:
    return user.notices.filter(read_at__isnull=True).update(read_at=timezone.now())


def review_body_add(*, actor: User, application: Application, body_code: str, reason: str) -> Any:
    body = ApprovingBody.objects.filter(code=body_code, is_active=True).first()
    if body is None:
        raise Refused(_("Unknown approving body “%(code)s”.") % {"code": body_code}, field="body", status=422)
    return approvals.review_add_body(actor=actor, application=application, body=body, reason=reason)
