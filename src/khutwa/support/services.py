"""Writes of Tamkeen support: applications and their decisions (with the entitlement reserved
under the programme's lock), claims verified against the official documents, payouts."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from khutwa.accounts.models import Enterprise, User
from khutwa.accounts.roles import Role
from khutwa.accounts.validators import validate_cr
from khutwa.audit.services import audit_record
from khutwa.documents.models import Customer, Document, DocumentType
from khutwa.documents.selectors import addressed_to, document_sources
from khutwa.errors import NotFound, Refused
from khutwa.licensing.models import Licence
from khutwa.licensing.numbering import counter_next
from khutwa.notifications.services import notify_user, page
from khutwa.support import checks as claim_checks
from khutwa.support.eligibility import applies_as_holder, eligible_amount, evaluate, relevant_licence
from khutwa.support.entitlement import entitlement
from khutwa.support.models import (
    RESERVING,
    ApplicationMessage,
    ApplicationStatus,
    BatchStatus,
    Beneficiary,
    Claim,
    ClaimDocument,
    ClaimStatus,
    Payout,
    PayoutBatch,
    Programme,
    ProgrammeCap,
    SupportApplication,
)
from khutwa.webhooks import payloads as webhook_payloads
from khutwa.webhooks.services import events_emit

ZERO = Decimal("0.000")

#: The most claims one payout batch may pay (the API schema and the finance page say the same).
BATCH_MAX_CLAIMS = 500


#: Arabic-Indic (and Persian) digits as the ASCII digits a number is stored with.
ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def resolve_document(reference: str) -> Document | None:
    """A document by its public id, or by the content of its QR code."""
    reference = (reference or "").strip()
    if not reference:
        return None
    if "/verify/" in reference:
        from khutwa.trust.qr import QrError, parse_qr

        try:
            reference, _facts, _sig = parse_qr(reference)
        except QrError:
            return None
    try:
        public_id = uuid.UUID(reference)
    except ValueError:
        return None
    return Document.objects.select_related("licence", "customer").filter(public_id=public_id).first()


def programme_get(code: str) -> Programme:
    programme = Programme.objects.filter(code=code).first()
    if programme is None:
        raise Refused(_("Unknown programme “%(code)s”.") % {"code": code}, field="programme", status=422)
    return programme


#: A quotation's number as the customer sees it on the paper: QUO-2026-000002 (the zeros may be
#: left out, and Arabic-Indic digits are read too).
QUOTATION_NUMBER_RE = re.compile(r"^QUO-([0-9]{4})-([0-9]{1,6})$", re.IGNORECASE)


def quotation_by_number(user: User, number: str) -> Document | None:
    """A quotation by the number on it, among those the user may see (addressed to them, or
    issued by them). Numbers restart per licence, so two holders may both have issued
    QUO-2026-000002: then the number alone does not say which, and the QR code (or the id) must."""
    text = number.strip().translate(ARABIC_DIGITS)
    match = QUOTATION_NUMBER_RE.match(text)
    if match is None:
        return None
    canonical = f"QUO-{match[1]}-{int(match[2]):06d}"
    # A number is unique per licence: each lookup names the licences and the number, one entry
    # of their unique index each; the user's own licences, then those that issued documents to
    # the user's customer entries (their owners' licences). The access rule's joins read every
    # quotation of the platform, and a lookup by customer entry and number let either engine
    # read the whole (licence, number) index by its second column. Only quotations have QUO-
    # numbers; checked below all the same.
    sources = document_sources(user)
    found: list[Document] = []
    lookups = []
    if sources.licences:
        lookups.append(Q(licence_id__in=sources.licences))
    if sources.customers:
        owners = Customer.objects.filter(pk__in=sources.customers).values("owner_id")
        issuers = Licence.objects.filter(holder_id__in=owners).values("pk")
        lookups.append(Q(licence_id__in=issuers, customer_id__in=sources.customers))
    for lookup in lookups:
        matches = Document.objects.filter(lookup, number=canonical).order_by()
        found += [
            d
            for d in matches.select_related("licence", "customer")[:2]
            if d.type == DocumentType.QUOTATION and d not in found
        ]
    found.sort(key=lambda d: (d.issued_at, d.pk), reverse=True)
    if len(found) > 1:
        raise Refused(
            _("More than one of your quotations has the number %(number)s: scan its QR code instead.")
            % {"number": canonical},
            field="quotation",
            status=422,
        )
    return found[0] if found else None


def eligibility_check(
    *, user: User, programme: Programme, quotation_ref: str = "", today: dt.date | None = None
) -> tuple[list[Any], Document | None]:
    """Each rule's result for the user. The quotation is given by its number (QUO-2026-000002),
    the content of its QR code, or its public id."""
    today = today or timezone.localdate()
    quotation_ref = (quotation_ref or "").strip()
    if QUOTATION_NUMBER_RE.match(quotation_ref.translate(ARABIC_DIGITS)):
        quotation = quotation_by_number(user, quotation_ref)
        if quotation is None:
            raise Refused(
                _("None of your quotations has the number %(number)s.") % {"number": quotation_ref},
                field="quotation",
                status=422,
            )
        return evaluate(programme=programme, user=user, quotation=quotation, today=today), quotation
    quotation = resolve_document(quotation_ref) if quotation_ref else None
    if quotation_ref and quotation is None:
        raise Refused(_("No official document matches this id or QR code."), field="quotation", status=422)
    return evaluate(programme=programme, user=user, quotation=quotation, today=today), quotation


def _require(actor: User, *roles: str) -> None:
    if not actor.has_role(*roles):
        raise Refused(_("You may not do this."), status=403)


def _iban_problem(rule: str) -> str:
    """What is wrong with an IBAN, in the reader's language (the checker's own reasons are
    technical English)."""
    problems = {
        "country": _("Enter a Bahraini IBAN: it starts with BH."),
        "length": _(
            "A Bahraini IBAN has 22 characters: BH, two check digits, the bank's four letters and "
            "14 letters or digits."
        ),
        "checksum": _("The IBAN's check digits do not match the rest: a character was probably mistyped."),
    }
    return problems.get(
        rule,
        _(
            "Enter the IBAN as your bank gives it: BH, two check digits, the bank's four letters and "
            "14 letters or digits."
        ),
    )


def beneficiary_set_iban(*, actor: User, iban: str) -> Beneficiary:
    from khutwa.support.payments import IbanError, validate_bahraini_iban

    if not iban.strip():
        raise Refused(_("Enter your IBAN."), field="iban", status=422)
    try:
        compact = validate_bahraini_iban(iban)
    except IbanError as exc:
        raise Refused(_iban_problem(exc.rule), field="iban", status=422) from None
    with transaction.atomic():
        beneficiary, _created = Beneficiary.objects.get_or_create(user=actor)
        beneficiary.iban = compact
        beneficiary.save(update_fields=["iban"])
        audit_record(
            actor=actor, action="support.beneficiary.iban", obj=beneficiary, after={"iban": compact[-4:]}
        )
    return beneficiary


def enterprise_register(
    *, actor: User, cr_number: str, name_ar: str = "", name_en: str = "", now: dt.datetime | None = None
) -> Enterprise:
    """A Tamkeen customer says which business (by its commercial registration) the account acts
    for. Until an officer checks it, documents addressed to that CR do not reach the account;
    changing the CR asks for a new check."""
    now = now or timezone.now()
    cr_number = cr_number.strip()
    errors: dict[str, list[str]] = {}
    try:
        validate_cr(cr_number)
    except ValidationError as exc:
        errors["cr_number"] = list(exc.messages)
    if cr_number == settings.KHUTWA_TAMKEEN_CR:
        # Tamkeen's shares of split invoices are addressed to this CR: no account acts for it.
        errors["cr_number"] = [_("This is the commercial registration of the Labour Fund (Tamkeen) itself.")]
    if not (name_ar.strip() or name_en.strip()):
        errors["name_ar"] = [_("Give the business's name in Arabic or English.")]
    if len(name_ar) > 200 or len(name_en) > 200:
        errors["name_en"] = [_("Ensure this value has at most %(max)s characters.") % {"max": 200}]
    if errors:
        raise ValidationError(errors)
    if Enterprise.objects.filter(cr_number=cr_number, verified_at__isnull=False).exclude(user=actor).exists():
        raise Refused(
            _("This commercial registration is already linked to another account. Contact Tamkeen."),
            field="cr_number",
        )
    with transaction.atomic():
        enterprise = Enterprise.objects.select_for_update().filter(user=actor).first()
        if enterprise is None:
            enterprise = Enterprise(user=actor, submitted_at=now)
        if enterprise.cr_number != cr_number:
            enterprise.verified_at = None
            enterprise.verified_by = None
            enterprise.submitted_at = now
        enterprise.rejected_reason = ""
        enterprise.cr_number = cr_number
        enterprise.name_ar = name_ar.strip()
        enterprise.name_en = name_en.strip()
        enterprise.save()
        audit_record(
            actor=actor,
            action="support.enterprise.register",
            obj=enterprise,
            after={"cr_number": cr_number, "verified": enterprise.verified_at is not None},
        )
    return enterprise


def enterprise_decide(
    *, actor: User, enterprise: Enterprise, decision: str, reason: str = "", now: dt.datetime | None = None
) -> Enterprise:
    """An officer confirms (after checking the commercial register) or refuses an account's link
    to a business."""
    _require(actor, Role.TAMKEEN_OFFICER)
    now = now or timezone.now()
    if decision not in ("verify", "refuse"):
        raise Refused(_("Choose verify or refuse."), field="decision", status=422)
    if decision == "refuse" and not reason.strip():
        raise Refused(_("Give the reason; the applicant will see it."), field="reason", status=422)
    try:
        with transaction.atomic():
            locked = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
            if locked.verified_at is not None or locked.rejected_reason:
                raise Refused(_("This link was already decided."), field="status")
            if decision == "verify":
                locked.verified_at = now
                locked.verified_by = actor
            else:
                locked.rejected_reason = reason.strip()[:2000]
            locked.save()
            audit_record(
                actor=actor,
                action=f"support.enterprise.{decision}",
                obj=locked,
                after={"cr_number": locked.cr_number, "reason": locked.rejected_reason},
            )
    except IntegrityError:
        raise Refused(
            _("This commercial registration is already linked to another account."), field="cr_number"
        ) from None
    enterprise.refresh_from_db()
    return enterprise


def split_application(quotation: Document) -> SupportApplication | None:
    """The approved application resting on this quotation whose programme splits invoices."""
    return (
        SupportApplication.objects.filter(
            quotation=quotation, status=ApplicationStatus.APPROVED, programme__split_invoicing=True
        )
        .select_related("programme")
        .first()
    )


def split_invoice(*, actor: User, quotation: Document, now: dt.datetime | None = None) -> tuple[Any, Any]:
    """The supplier invoices an approved split-invoicing application's quotation: Tamkeen's share
    (the programme's rate) to Tamkeen, the rest to the customer, both with its number."""
    from khutwa.documents.services import quotation_to_split_invoices

    if quotation.licence.holder_id != actor.pk:
        raise NotFound(_("Not found."))
    application = split_application(quotation)
    if application is None:
        raise Refused(
            _("No approved Tamkeen application with split invoicing rests on this quotation."),
            field="references.quotation",
        )
    return quotation_to_split_invoices(
        actor=actor,
        quotation=quotation,
        tamkeen_rate=application.programme.rate,
        tamkeen_application_number=application.reference,
        now=now,
    )


def application_create(
    *, actor: User, programme_code: str, quotation_ref: str = "", now: dt.datetime | None = None
) -> SupportApplication:
    """Submit an application; refused, naming each failed rule, when not eligible."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    programme = programme_get(programme_code)
    rules, quotation = eligibility_check(
        user=actor, programme=programme, quotation_ref=quotation_ref, today=today
    )
    failed = [r for r in rules if not r.passed]
    if failed:
        raise Refused(
            "; ".join(r.explanation_en if _english() else r.explanation_ar for r in failed),
            field="eligibility",
            status=422,
        )
    as_holder = applies_as_holder(actor)
    with transaction.atomic():
        application = SupportApplication.objects.create(
            reference=f"TMK-{today.year}-{counter_next('tamkeen', today.year):06d}",
            programme=programme,
            beneficiary=actor,
            as_holder=as_holder,
            quotation=quotation,
            licence=relevant_licence(actor, quotation, as_holder),
            eligible_amount=eligible_amount(quotation),
            eligibility=[r.as_dict() for r in rules],
            created_at=now,
        )
        Beneficiary.objects.get_or_create(user=actor)
        audit_record(
            actor=actor,
            action="support.application.submit",
            obj=application,
            after={"programme": programme.code, "quotation": quotation.number if quotation else ""},
        )
    return application


def _english() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "ar").startswith("en")


def received_12m(*, programme: Programme, user: User, today: dt.date, exclude: int | None = None) -> Decimal:
    """What the beneficiary received or holds reserved from the programme in 12 months."""
    rows = SupportApplication.objects.filter(
        programme=programme,
        beneficiary=user,
        decided_at__date__gt=today - dt.timedelta(days=365),
        status__in=[*RESERVING, ApplicationStatus.PAID, ApplicationStatus.CLOSED],
    )
    if exclude:
        rows = rows.exclude(pk=exclude)
    return rows.aggregate(s=Sum("entitlement"))["s"] or ZERO


def application_decide(
    *,
    actor: User,
    application: SupportApplication,
    decision: str,
    reason: str = "",
    now: dt.datetime | None = None,
) -> SupportApplication:
    """approve (entitlement reserved under the programme's lock), reject, or request_info."""
    _require(actor, Role.TAMKEEN_OFFICER)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if decision not in ("approve", "reject", "request_info"):
        raise Refused(_("Choose approve, reject or request_info."), field="decision", status=422)
    if decision in ("reject", "request_info") and not reason.strip():
        raise Refused(_("Give the reason; the applicant will see it."), field="reason", status=422)
    with transaction.atomic():
        # Lock the programme first: concurrent approvals serialise here, so the budget can
        # never be over-committed.
        programme = Programme.objects.select_for_update().get(pk=application.programme_id)
        locked = SupportApplication.objects.select_for_update().get(pk=application.pk)
        if locked.status not in (
            ApplicationStatus.SUBMITTED,
            ApplicationStatus.IN_REVIEW,
            ApplicationStatus.INFO_REQUESTED,
        ):
            raise Refused(
                _("An application that is “%(status)s” cannot be decided.")
                % {"status": locked.get_status_display()},
                field="status",
            )
        before = locked.status
        if decision == "approve":
            rules = evaluate(
                programme=programme,
                user=locked.beneficiary,
                quotation=locked.quotation,
                today=today,
                exclude_application=locked.pk,
            )
            locked.eligibility = [r.as_dict() for r in rules]
            failed = [r for r in rules if not r.passed]
            if failed:
                locked.save(update_fields=["eligibility"])
                raise Refused("; ".join(r.explanation_en for r in failed), field="eligibility")
            tier_id = locked.licence.tier_id if locked.licence else None
            cap_row = ProgrammeCap.objects.filter(programme=programme, tier_id=tier_id).first()
            amount = entitlement(
                rate=programme.rate,
                eligible_amount=locked.eligible_amount,
                cap=cap_row.cap if cap_row else None,
                received_12m=received_12m(
                    programme=programme, user=locked.beneficiary, today=today, exclude=locked.pk
                ),
                budget_left=programme.remaining,
            )
            if amount.amount <= 0:
                limits = {
                    "rate": _("the subsidy rate"),
                    "cap": _("the tier's cap for 12 months"),
                    "budget": _("the programme's budget"),
                }
                raise Refused(
                    _("Nothing can be granted: limited by %(limit)s.") % {"limit": limits[amount.limited_by]},
                    field="entitlement",
                )
            programme.reserved += amount.amount
            programme.save(update_fields=["reserved"])
            locked.entitlement = amount.amount
            locked.status = ApplicationStatus.APPROVED
            locked.expires_on = today + dt.timedelta(days=programme.approval_valid_days)
        elif decision == "reject":
            locked.status = ApplicationStatus.REJECTED
        else:
            locked.status = ApplicationStatus.INFO_REQUESTED
            ApplicationMessage.objects.create(
                application=locked, author=actor, from_officer=True, text=reason.strip()[:4000], at=now
            )
        locked.reason = reason.strip()
        locked.decided_at = now
        locked.decided_by = actor
        locked.save()
        audit_record(
            actor=actor,
            action=f"support.application.{decision}",
            obj=locked,
            before={"status": before},
            after={"status": locked.status, "entitlement": f"{locked.entitlement:.3f}", "reason": reason},
        )
        events_emit(webhook_payloads.support_decided(locked, decision))
        notify_user(
            user=locked.beneficiary,
            event="support_decided",
            context={
                "ref": locked.reference,
                "programme_ar": programme.name_ar,
                "programme_en": programme.name_en,
                "decision": decision,
                "reason": locked.reason,
                "entitlement": f"{locked.entitlement:.3f}",
                "expires_on": locked.expires_on.isoformat() if locked.expires_on else "",
                "link": page("portal:support_application", pk=locked.pk),
            },
        )
    application.refresh_from_db()
    return application


def application_answer(*, actor: User, application: SupportApplication, answer: str) -> SupportApplication:
    if application.beneficiary_id != actor.pk:
        raise NotFound(_("Not found."))
    if application.status != ApplicationStatus.INFO_REQUESTED:
        raise Refused(_("No information was requested."))
    if not answer.strip():
        raise Refused(_("Write your answer."), field="answer", status=422)
    if len(answer) > 4000:
        raise Refused(
            _("Ensure this value has at most %(max)s characters.") % {"max": 4000}, field="answer", status=422
        )
    with transaction.atomic():
        SupportApplication.objects.filter(pk=application.pk).update(status=ApplicationStatus.IN_REVIEW)
        ApplicationMessage.objects.create(
            application=application, author=actor, text=answer.strip(), at=timezone.now()
        )
        audit_record(
            actor=actor, action="support.application.answer", obj=application, after={"answer": answer}
        )
    application.refresh_from_db()
    return application


def _release(application: SupportApplication) -> None:
    if application.status in RESERVING and application.entitlement > 0:
        programme = Programme.objects.select_for_update().get(pk=application.programme_id)
        programme.reserved -= application.entitlement
        programme.save(update_fields=["reserved"])


def application_cancel(*, actor: User, application: SupportApplication) -> SupportApplication:
    if application.beneficiary_id != actor.pk and not actor.has_role(Role.TAMKEEN_OFFICER):
        raise NotFound(_("Not found."))
    with transaction.atomic():
        locked = SupportApplication.objects.select_for_update().get(pk=application.pk)
        if locked.status not in (
            ApplicationStatus.SUBMITTED,
            ApplicationStatus.IN_REVIEW,
            ApplicationStatus.INFO_REQUESTED,
            ApplicationStatus.APPROVED,
        ):
            raise Refused(
                _("An application that is “%(status)s” cannot be cancelled.")
                % {"status": locked.get_status_display()},
                field="status",
            )
        _release(locked)
        locked.status = ApplicationStatus.CANCELLED
        locked.save(update_fields=["status"])
        audit_record(actor=actor, action="support.application.cancel", obj=locked)
    application.refresh_from_db()
    return application


def application_close(*, actor: User, application: SupportApplication) -> SupportApplication:
    """An officer closes a paid application: the file is complete."""
    _require(actor, Role.TAMKEEN_OFFICER)
    with transaction.atomic():
        locked = SupportApplication.objects.select_for_update().get(pk=application.pk)
        if locked.status != ApplicationStatus.PAID:
            raise Refused(_("Only a paid application can be closed."), field="status")
        locked.status = ApplicationStatus.CLOSED
        locked.save(update_fields=["status"])
        audit_record(actor=actor, action="support.application.close", obj=locked)
    application.refresh_from_db()
    return application


def applications_expire(*, today: dt.date | None = None) -> int:
    """Approvals not claimed in time expire and give their reservation back. Idempotent."""
    today = today or timezone.localdate()
    count = 0
    for pk in SupportApplication.objects.filter(
        status=ApplicationStatus.APPROVED, expires_on__lt=today
    ).values_list("pk", flat=True):
        with transaction.atomic():
            locked = SupportApplication.objects.select_for_update().get(pk=pk)
            if (
                locked.status == ApplicationStatus.APPROVED
                and locked.expires_on
                and locked.expires_on < today
            ):
                _release(locked)
                locked.status = ApplicationStatus.EXPIRED
                locked.save(update_fields=["status"])
                audit_record(actor=None, action="support.application.expire", obj=locked)
                count += 1
    return count


def claim_documents(*, actor: User, document_refs: list[str]) -> list[Document]:
    """The documents a claim lists (public ids or QR contents), each one the claimant may claim
    on (`checks.claimable`: addressed to them, or Tamkeen's share with their own share of the
    pair). Otherwise a ValidationError naming every refused entry (`documents[i]`), and nothing
    stored or reserved: a document of someone else's cannot be put in a claim, so it cannot be
    held by the one-claim-per-document constraint against its real customer. An unknown id and
    a document the claimant may not see get the same answer; the number is named only of a
    document the claimant already knows (their own issued documents, Tamkeen's share of their
    own pair)."""
    resolved = [resolve_document(ref) for ref in document_refs]
    found = [d for d in resolved if d is not None]
    errors: dict[str, list[str]] = {}
    for i, document in enumerate(resolved):
        if document is None or not claim_checks.claimable(actor, document, found):
            errors[f"documents[{i}]"] = [_claim_refusal(actor, document, i + 1)]
    if errors:
        raise ValidationError(errors)
    if len({d.pk for d in found}) != len(found):
        raise Refused(_("A document is listed twice."), field="documents", status=422)
    return found


def _claim_refusal(actor: User, document: Document | None, position: int) -> str:
    if document is not None and claim_checks.tamkeen_share(document):
        own = (
            Document.objects.filter(split_group=document.split_group)
            .exclude(pk=document.pk)
            .select_related("customer")
            .first()
        )
        if own is not None and addressed_to(actor, own.customer):
            return _(
                "Document %(position)s (%(number)s) is Tamkeen's share of a split invoice: claim it "
                "together with your own share of the pair, %(own)s."
            ) % {"position": position, "number": document.number, "own": own.number}
    elif document is not None and document.licence.holder_id == actor.pk:
        return _("Document %(position)s (%(number)s) is not addressed to you.") % {
            "position": position,
            "number": document.number,
        }
    return _("Document %(position)s: no official document addressed to you matches this id or QR code.") % {
        "position": position
    }


def claim_submit(
    *, actor: User, application: SupportApplication, document_refs: list[str], now: dt.datetime | None = None
) -> Claim:
    """Attach the documents (only the claimant's own: `claim_documents`); every check runs at
    once and is stored with its reason."""
    now = now or timezone.now()
    if application.beneficiary_id != actor.pk:
        raise NotFound(_("Not found."))
    if application.status != ApplicationStatus.APPROVED:
        raise Refused(
            _("Only an approved application can be claimed; this one is “%(status)s”.")
            % {"status": application.get_status_display()},
            field="application",
        )
    if not document_refs:
        raise Refused(_("Attach the invoice and the other documents."), field="documents", status=422)
    documents = claim_documents(actor=actor, document_refs=document_refs)
    results = claim_checks.run(application=application, documents=documents, user=actor)
    claimed = claim_checks.claimed_amount(documents)
    payable = claim_checks.payable(application=application, documents=documents, claimed=claimed)
    supplier = next((d.licence.holder for d in documents if claim_checks.tamkeen_share(d)), None)
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                application=application,
                checks=[r.as_dict() for r in results],
                claimed_amount=claimed,
                payable=payable,
                payee=supplier,
                created_at=now,
            )
            ClaimDocument.objects.bulk_create([ClaimDocument(claim=claim, document=d) for d in documents])
            SupportApplication.objects.filter(pk=application.pk).update(status=ApplicationStatus.CLAIMED)
            audit_record(
                actor=actor,
                action="support.claim.submit",
                obj=claim,
                after={
                    "documents": [d.number for d in documents],
                    "payable": f"{payable:.3f}",
                    "passed": all(r.passed for r in results),
                },
            )
    except IntegrityError:
        used = ClaimDocument.objects.filter(document__in=documents).select_related(
            "document", "claim__application"
        )
        # Only the claimant's own application is named (a CR's documents may have reached
        # another account before the CR was linked to this one).
        names = ", ".join(
            f"{u.document.number} ({u.claim.application.reference})"
            if u.claim.application.beneficiary_id == actor.pk
            else u.document.number
            for u in used
        )
        raise Refused(
            _("These documents are already used by another claim: %(names)s.") % {"names": names},
            field="documents",
        ) from None
    return claim


def claim_decide(
    *, actor: User, claim: Claim, decision: str, reason: str = "", now: dt.datetime | None = None
) -> Claim:
    """Approve (only when every check passed: one action) or reject (documents freed)."""
    _require(actor, Role.TAMKEEN_OFFICER)
    now = now or timezone.now()
    if decision not in ("approve", "reject"):
        raise Refused(_("Choose approve or reject."), field="decision", status=422)
    with transaction.atomic():
        locked = Claim.objects.select_for_update().select_related("application").get(pk=claim.pk)
        if locked.status != ClaimStatus.SUBMITTED:
            raise Refused(_("This claim was already decided."), field="status")
        if decision == "approve":
            failed = [c for c in locked.checks if not c["passed"]]
            if failed:
                raise Refused(
                    _("%(n)s checks failed; the claim cannot be approved.") % {"n": len(failed)},
                    field="checks",
                )
            locked.status = ClaimStatus.VERIFIED
            SupportApplication.objects.filter(pk=locked.application_id).update(
                status=ApplicationStatus.VERIFIED
            )
        else:
            if not reason.strip():
                raise Refused(_("Give the reason; the applicant will see it."), field="reason", status=422)
            locked.status = ClaimStatus.REJECTED
            # The documents may be claimed again once corrected.
            ClaimDocument.objects.filter(claim=locked).delete()
            SupportApplication.objects.filter(pk=locked.application_id).update(
                status=ApplicationStatus.APPROVED
            )
        locked.decided_at = now
        locked.decided_by = actor
        locked.reason = reason.strip()
        locked.save()
        audit_record(actor=actor, action=f"support.claim.{decision}", obj=locked, after={"reason": reason})
        events_emit(
            webhook_payloads.claim_changed(locked, "verified" if decision == "approve" else "rejected")
        )
    claim.refresh_from_db()
    return claim


def batch_create(
    *,
    actor: User,
    claim_ids: list[int],
    execution_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> PayoutBatch:
    from khutwa.support.payments import IbanError, validate_bahraini_iban

    _require(actor, Role.TAMKEEN_FINANCE)
    now = now or timezone.now()
    if not claim_ids:
        raise Refused(_("Choose the verified claims to pay."), field="claims", status=422)
    claims = list(Claim.objects.filter(pk__in=claim_ids).select_related("application__beneficiary", "payee"))
    if len(claims) != len(set(claim_ids)):
        raise Refused(_("Unknown claim."), field="claims", status=422)
    problems = []
    ibans: dict[int, str] = {}  # claim → the IBAN of whoever it pays
    for claim in claims:
        if claim.status != ClaimStatus.VERIFIED:
            problems.append(_("claim %(id)s is not verified") % {"id": claim.pk})
        payee = claim.payee or claim.application.beneficiary
        beneficiary = Beneficiary.objects.filter(user=payee).first()
        ibans[claim.pk] = beneficiary.iban if beneficiary else ""
        try:
            validate_bahraini_iban(ibans[claim.pk])
        except IbanError:
            problems.append(
                _("claim %(id)s: %(who)s has no valid Bahraini IBAN")
                % {"id": claim.pk, "who": _("the supplier") if claim.payee else _("the beneficiary")}
            )
    if problems:
        raise Refused("; ".join(problems), field="claims", status=422)
    today = timezone.localtime(now).date()
    try:
        with transaction.atomic():
            batch = PayoutBatch.objects.create(
                reference=f"PAY-{today.year}-{counter_next('payout', today.year):06d}",
                execution_date=execution_date or today,
                created_at=now,
                created_by=actor,
            )
            Payout.objects.bulk_create(
                [
                    Payout(
                        batch=batch,
                        claim=c,
                        amount=c.payable,
                        creditor_name=_creditor_name(c)[:140],
                        iban=ibans[c.pk],
                    )
                    for c in claims
                ]
            )
            audit_record(
                actor=actor,
                action="support.batch.create",
                obj=batch,
                after={"claims": sorted(claim_ids), "total": f"{sum(c.payable for c in claims):.3f}"},
            )
    except IntegrityError:
        raise Refused(_("A claim is already in another payout batch."), field="claims") from None
    return batch


def _creditor_name(claim: Claim) -> str:
    if claim.payee is not None:  # the supplier: its licence's trade name, as on the invoice
        share = next(
            (
                d.document
                for d in claim.documents.select_related("document__licence", "document__customer")
                if claim_checks.tamkeen_share(d.document)
            ),
            None,
        )
        if share is not None:
            return share.licence.trade_name or share.licence.name_en or share.licence.name_ar
    person = claim.payee or claim.application.beneficiary
    return person.get_full_name() or person.name_ar or person.username


def _claim_paid_notify(claim: Claim, *, batch: PayoutBatch) -> None:
    """Whoever was paid (the supplier with split invoicing, else the beneficiary) hears of it."""
    application = claim.application
    person = claim.payee or application.beneficiary
    is_beneficiary = person.pk == application.beneficiary_id
    notify_user(
        user=person,
        event="claim_paid",
        context={
            "ref": application.reference,
            "programme_ar": application.programme.name_ar,
            "programme_en": application.programme.name_en,
            "amount": f"{claim.payout.amount:.3f}",
            "batch": batch.reference,
            "link": page("portal:support_application", pk=application.pk)
            if is_beneficiary
            else page("portal:home"),
        },
    )


def batch_mark_paid(*, actor: User, batch: PayoutBatch, now: dt.datetime | None = None) -> PayoutBatch:
    """The bank confirmed: entitlements are consumed (what was not paid is given back). Once."""
    _require(actor, Role.TAMKEEN_FINANCE)
    now = now or timezone.now()
    with transaction.atomic():
        locked = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status == BatchStatus.PAID:
            raise Refused(_("This batch is already paid."), field="status")
        for payout in locked.payouts.select_related("claim__application"):
            application = payout.claim.application
            programme = Programme.objects.select_for_update().get(pk=application.programme_id)
            programme.reserved -= application.entitlement
            programme.paid += payout.amount
            programme.save(update_fields=["reserved", "paid"])
            Claim.objects.filter(pk=payout.claim_id).update(status=ClaimStatus.PAID)
            SupportApplication.objects.filter(pk=application.pk).update(
                status=ApplicationStatus.PAID, entitlement=payout.amount
            )
        locked.status = BatchStatus.PAID
        locked.paid_at = now
        locked.save(update_fields=["status", "paid_at"])
        audit_record(actor=actor, action="support.batch.paid", obj=locked)
        paid_claims = (
            Claim.objects.filter(payout__batch=locked)
            .select_related("application__programme", "application__beneficiary", "payee", "payout")
            .order_by("pk")
        )
        for paid in paid_claims:
            _claim_paid_notify(paid, batch=locked)
        events_emit(
            [e for c in paid_claims for e in webhook_payloads.claim_changed(c, "paid")]
            + webhook_payloads.batch_paid(locked)
        )
    batch.refresh_from_db()
    return batch
