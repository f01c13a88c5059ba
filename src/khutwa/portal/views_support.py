"""Pages of Tamkeen support: the public programme catalogue; beneficiaries' applications and
claims; the officers' queue and decisions; finance's batches; reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from khutwa.accounts.models import Enterprise
from khutwa.accounts.roles import Role
from khutwa.documents.models import DocumentType
from khutwa.documents.selectors import documents_for
from khutwa.errors import Refused
from khutwa.http import download, permissions_allow
from khutwa.inputs import parse_ids
from khutwa.portal.access import found, me, role_required
from khutwa.portal.detail_forms import submit
from khutwa.portal.fields import Problem
from khutwa.portal.forms import (
    ActionForm,
    AnswerForm,
    ClaimDecisionForm,
    ClaimForm,
    EnterpriseForm,
    IbanForm,
    ReasonForm,
    SupportDecisionForm,
)
from khutwa.support import selectors, services
from khutwa.support.eligibility import applies_as_holder, depends_on_quotation, never_eligible
from khutwa.support.models import (
    ApplicationStatus,
    Beneficiary,
    Claim,
    ClaimStatus,
    PayoutBatch,
    Programme,
    SupportApplication,
)


def programme_list(request: HttpRequest) -> HttpResponse:
    """The catalogue; to a signed-in person, each programme they cannot join says why."""
    programmes = list(selectors.programmes())
    if request.user.is_authenticated and not me(request).has_role(
        Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE, Role.REGISTRAR
    ):
        english = (get_language() or "ar").startswith("en")
        today = timezone.localdate()
        for p in programmes:
            p.why_not = [  # type: ignore[attr-defined]
                r.explanation_en if english else r.explanation_ar
                for r in never_eligible(programme=p, user=me(request), today=today)
            ]
    return render(request, "portal/support_programmes.html", {"programmes": programmes})


@login_required
def support_home(request: HttpRequest) -> HttpResponse:
    user = me(request)
    if user.has_role(Role.TAMKEEN_OFFICER):
        return redirect("portal:support_queue")
    if user.has_role(Role.TAMKEEN_FINANCE):
        return redirect("portal:support_finance")
    return render(request, "portal/support_mine.html", _mine_context(request))


def _mine_context(request: HttpRequest, **failed: forms.Form) -> dict[str, Any]:
    """The "My support" page; ``failed`` is the form sent back with its errors, if any."""
    user = me(request)
    beneficiary = Beneficiary.objects.filter(user=user).first()
    enterprise = Enterprise.objects.filter(user=user).first()
    return {
        "applications": selectors.applications_for(user),
        "claims": Claim.objects.filter(application__beneficiary=user).select_related("application"),
        "programmes": Programme.objects.filter(is_paused=False),
        "enterprise": enterprise,
        "iban_form": IbanForm(initial={"iban": beneficiary.iban if beneficiary else ""}),
        "enterprise_form": EnterpriseForm(
            initial={
                "cr_number": enterprise.cr_number,
                "name_ar": enterprise.name_ar,
                "name_en": enterprise.name_en,
            }
            if enterprise
            else {}
        ),
        **failed,
    }


#: What a rule that needs the quotation checks, said before the quotation is given.
_PENDING = {
    "quotation": gettext_lazy("An official quotation addressed to you, still valid."),
    "not_self_dealing": gettext_lazy("The supplier is not you, your business or your household."),
    "licence_active": gettext_lazy("The supplier's licence is active."),
    "tier_eligible": gettext_lazy("The supplier's licence tier is eligible for this programme."),
    "activity_eligible": gettext_lazy("The quotation's activities are eligible for this programme."),
}
_ERROR_TARGETS = {"quotation": "id_quotation", "programme": "id_programme"}


def _rule_rows(rules: list[Any], *, quotation_given: bool, as_holder: bool) -> list[dict[str, Any]]:
    """Each rule as the page shows it: passed, failed, or (before the quotation is given, for a
    rule that reads it) what it will check: the rules, not a column of red crosses."""
    english = (get_language() or "ar").startswith("en")
    rows = []
    for r in rules:
        text = r.explanation_en if english else r.explanation_ar
        state = "passed" if r.passed else "failed"
        if not r.passed and not quotation_given and depends_on_quotation(r.rule, as_holder=as_holder):
            state, text = "pending", str(_PENDING.get(r.rule, text))
        rows.append({"rule": r.rule, "state": state, "text": text})
    return rows


@login_required
@permissions_allow("camera")  # the quotation's QR code, scanned with the camera
def support_apply(request: HttpRequest) -> HttpResponse:
    user = me(request)
    code = request.POST.get("programme") or request.GET.get("programme", "")
    quotation = request.POST.get("quotation") or request.GET.get("quotation", "")
    rules: list[Any] = []
    error = ""
    error_field = ""
    programme = Programme.objects.filter(code=code).first()
    if programme is not None:
        try:
            rules, _q = services.eligibility_check(user=user, programme=programme, quotation_ref=quotation)
        except Refused as exc:
            error, error_field = str(exc.message), exc.field or ""
    if request.method == "POST" and request.POST.get("submit") and programme is None:
        error, error_field = _("Choose a programme."), "programme"
    elif request.method == "POST" and request.POST.get("submit"):
        try:
            application = services.application_create(
                actor=user, programme_code=code, quotation_ref=quotation
            )
        except Refused as exc:
            error, error_field = str(exc.message), exc.field or ""
        else:
            messages.success(request, _("Application %(ref)s submitted.") % {"ref": application.reference})
            return redirect("portal:support_application", pk=application.pk)
    rows = _rule_rows(rules, quotation_given=bool(quotation.strip()), as_holder=applies_as_holder(user))
    context = {
        "programmes": Programme.objects.all(),
        "programme": programme,
        "quotation": quotation,
        "rules": rows,
        "error": error,
        "problems": [Problem(_ERROR_TARGETS.get(error_field, ""), error)] if error else [],
        "eligible": bool(rules) and all(r.passed for r in rules),
        "never": [r for r in rows if r["state"] == "failed"] if not quotation.strip() else [],
        "quotations": documents_for(user, type_=DocumentType.QUOTATION).order_by("-issued_at")[:50],
    }
    if request.headers.get("HX-Request"):
        # Live, the error shows above the rules; a full page has it in the error summary.
        return render(request, "portal/_support_rules.html", {**context, "rules_error": error})
    return render(
        request,
        "portal/support_apply.html",
        context,
        status=400 if error and request.method == "POST" else 200,
    )


@login_required
@permissions_allow("camera")  # the claim's documents, scanned with the camera
def support_application(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    application = found(lambda: selectors.get_application_for(user, pk))
    return render(request, "portal/support_application.html", _application_context(request, application))


def _application_context(
    request: HttpRequest, application: SupportApplication, **failed: forms.Form
) -> dict[str, Any]:
    """A support application's page; ``failed`` is the form sent back with its errors, if any."""
    user = me(request)
    return {
        "application": application,
        "claims": application.claims.all(),
        "is_officer": user.has_role(Role.TAMKEEN_OFFICER),
        "is_beneficiary": application.beneficiary_id == user.pk,
        "decide_form": SupportDecisionForm(),
        "claim_form": ClaimForm(),
        "answer_form": AnswerForm(),
        "cancel_form": ActionForm(),
        **failed,
    }


@login_required
def support_application_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    user = me(request)
    application = found(lambda: selectors.get_application_for(user, pk))
    back = reverse("portal:support_application", kwargs={"pk": pk})
    post = request.POST
    if action == "claim":
        claim_form = ClaimForm(post)
        return submit(
            request,
            claim_form,
            lambda data: services.claim_submit(
                actor=user, application=application, document_refs=claim_form.document_refs()
            ),
            success=_("Claim submitted; its checks are below."),
            back=lambda claim: reverse("portal:support_claim", kwargs={"pk": claim.pk}),
            template="portal/support_application.html",
            context=lambda f: _application_context(request, application, claim_form=f),
            fragment="portal/forms/_support_claim.html",
        )
    calls: dict[str, tuple[forms.Form, Callable[[dict[str, Any]], Any], str]] = {
        "decide": (
            SupportDecisionForm(post),
            lambda data: services.application_decide(
                actor=user, application=application, decision=data["decision"], reason=data["reason"]
            ),
            _("Decision recorded."),
        ),
        "cancel": (
            ActionForm(post),
            lambda data: services.application_cancel(actor=user, application=application),
            _("Cancelled."),
        ),
        "answer": (
            AnswerForm(post),
            lambda data: services.application_answer(
                actor=user, application=application, answer=data["answer"]
            ),
            _("Answer sent."),
        ),
    }
    if action not in calls:
        raise Http404
    form, call, success = calls[action]
    return submit(
        request,
        form,
        call,
        success=success,
        back=back,
        template="portal/support_application.html",
        context=lambda f: _application_context(request, application, **{f"{action}_form": f}),
        fragment=f"portal/forms/_support_{action}.html",
    )


@login_required
def support_claim(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    claim = found(lambda: selectors.get_claim_for(user, pk))
    return render(request, "portal/support_claim.html", _claim_context(request, claim))


def _claim_context(request: HttpRequest, claim: Claim, **failed: forms.Form) -> dict[str, Any]:
    return {
        "claim": claim,
        "documents": claim.documents.select_related("document"),
        "is_officer": me(request).has_role(Role.TAMKEEN_OFFICER),
        "all_passed": all(c["passed"] for c in claim.checks),
        "claim_decision_form": ClaimDecisionForm(),
        **failed,
    }


@login_required
def support_claim_decide(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    user = me(request)
    claim = found(lambda: selectors.get_claim_for(user, pk))
    decision = request.POST.get("decision", "")
    return submit(
        request,
        ClaimDecisionForm(request.POST),
        lambda data: services.claim_decide(actor=user, claim=claim, decision=decision, reason=data["reason"]),
        success=_("Decision recorded."),
        back=reverse("portal:support_claim", kwargs={"pk": pk}),
        template="portal/support_claim.html",
        context=lambda f: _claim_context(request, claim, claim_decision_form=f),
        fragment="portal/forms/_claim_decision.html",
    )


@login_required
def support_iban(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    return submit(
        request,
        IbanForm(request.POST),
        lambda data: services.beneficiary_set_iban(actor=me(request), iban=data["iban"]),
        success=_("IBAN saved."),
        back=reverse("portal:support"),
        template="portal/support_mine.html",
        context=lambda f: _mine_context(request, iban_form=f),
        fragment="portal/forms/_iban.html",
    )


@login_required
def support_enterprise(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    return submit(
        request,
        EnterpriseForm(request.POST),
        lambda data: services.enterprise_register(
            actor=me(request), cr_number=data["cr_number"], name_ar=data["name_ar"], name_en=data["name_en"]
        ),
        success=_("Saved. A Tamkeen officer will check the commercial registration."),
        back=reverse("portal:support"),
        template="portal/support_mine.html",
        context=lambda f: _mine_context(request, enterprise_form=f),
        fragment="portal/forms/_enterprise.html",
    )


@role_required(Role.TAMKEEN_OFFICER)
def support_enterprise_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    enterprise = Enterprise.objects.filter(pk=pk).first()
    if enterprise is None:
        raise Http404
    form = ReasonForm(request.POST, auto_id=f"ent{enterprise.pk}_%s")
    return submit(
        request,
        form,
        lambda data: services.enterprise_decide(
            actor=me(request), enterprise=enterprise, decision=decision, reason=data["reason"]
        ),
        success=_("Decision recorded."),
        back=reverse("portal:support_queue"),
        template="portal/support_queue.html",
        context=lambda f: _queue_context(request, deciding=(enterprise.pk, f)),
    )


@role_required(Role.TAMKEEN_OFFICER)
def support_queue(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/support_queue.html", _queue_context(request))


def _queue_context(request: HttpRequest, *, deciding: tuple[int, forms.Form] | None = None) -> dict[str, Any]:
    """The officer's queue; ``deciding``: the business whose decision was refused, and its form."""
    status = request.GET.get("status", "")
    if status not in ApplicationStatus.values:
        status = ""
    programme = request.GET.get("programme", "")[:50]
    enterprises = list(
        Enterprise.objects.filter(verified_at__isnull=True, rejected_reason="")
        .select_related("user")
        .order_by("submitted_at")[:100]
    )
    failed = deciding[1] if deciding else None
    for enterprise in enterprises:
        # One refusal form per business, each with its own element ids.
        mine = deciding is not None and deciding[0] == enterprise.pk
        enterprise.decide_form = failed if mine else ReasonForm(auto_id=f"ent{enterprise.pk}_%s")  # type: ignore[attr-defined]
    return {
        "applications": selectors.applications_for(me(request), status=status, programme=programme)[:200],
        "claims": Claim.objects.filter(status=ClaimStatus.SUBMITTED).select_related("application")[:100],
        "statuses": ApplicationStatus.choices,
        "status": status,
        "programme": programme,
        "programmes": Programme.objects.all(),
        "enterprises": enterprises,
        # A business decided meanwhile is no longer listed: its refusal shows above the list.
        "decided_form": failed
        if failed and deciding and deciding[0] not in {e.pk for e in enterprises}
        else None,
    }


@role_required(Role.TAMKEEN_FINANCE)
def support_finance(request: HttpRequest) -> HttpResponse:
    user = me(request)
    if request.method == "POST":
        ids = parse_ids(request.POST.getlist("claims"), limit=services.BATCH_MAX_CLAIMS)

        def create(data: dict[str, Any]) -> Any:
            if ids is None:
                raise Refused(
                    _("Choose at most %(max)s claims listed on this page.")
                    % {"max": services.BATCH_MAX_CLAIMS},
                    field="claims",
                    status=422,
                )
            return services.batch_create(actor=user, claim_ids=ids)

        return submit(
            request,
            ActionForm(request.POST),
            create,
            success=lambda batch: _("Batch %(ref)s created.") % {"ref": batch.reference},
            back=lambda batch: reverse("portal:support_batch", kwargs={"pk": batch.pk}),
            template="portal/support_finance.html",
            context=lambda f: _finance_context(batch_form=f),
        )
    return render(request, "portal/support_finance.html", _finance_context())


def _finance_context(**failed: forms.Form) -> dict[str, Any]:
    return {
        "claims": Claim.objects.filter(status=ClaimStatus.VERIFIED, payout__isnull=True).select_related(
            "application__beneficiary"
        ),
        "batches": PayoutBatch.objects.all()[:50],
        "batch_form": ActionForm(),
        **failed,
    }


@role_required(Role.TAMKEEN_FINANCE)
def support_batch(request: HttpRequest, pk: int) -> HttpResponse:
    batch = found(lambda: selectors.get_batch_for(me(request), pk))
    if request.method == "POST":
        return submit(
            request,
            ActionForm(request.POST),
            lambda data: services.batch_mark_paid(actor=me(request), batch=batch),
            success=_("Batch marked paid."),
            back=reverse("portal:support_batch", kwargs={"pk": pk}),
            template="portal/support_batch.html",
            context=lambda f: _batch_context(batch, paid_form=f),
        )
    return render(request, "portal/support_batch.html", _batch_context(batch))


def _batch_context(batch: PayoutBatch, **failed: forms.Form) -> dict[str, Any]:
    payouts = batch.payouts.select_related("claim__application")
    return {
        "batch": batch,
        "payouts": payouts,
        "total": sum((p.amount for p in payouts), Decimal("0")),
        "paid_form": ActionForm(),
        **failed,
    }


@role_required(Role.TAMKEEN_FINANCE)
def support_batch_export(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    from khutwa.support.exports import batch_csv_text, batch_pain001_xml

    batch = found(lambda: selectors.get_batch_for(me(request), pk))
    if kind == "pain001":
        response = download(
            batch_pain001_xml(batch), content_type="application/xml", filename=f"{batch.reference}.xml"
        )
    elif kind == "csv":
        response = download(
            batch_csv_text(batch), content_type="text/csv; charset=utf-8", filename=f"{batch.reference}.csv"
        )
    else:
        raise Http404
    return response


@role_required(Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE)
def support_reports(request: HttpRequest) -> HttpResponse:
    """Amounts reserved and paid by programme, tier, activity category and governorate."""
    reserving = ["approved", "claimed", "verified"]
    paid_states = ["paid", "closed"]
    base = SupportApplication.objects.filter(status__in=[*reserving, *paid_states])

    def rows(field: str, label_ar: str, label_en: str) -> list[dict[str, Any]]:
        grouped = (
            base.values(field, label_ar, label_en)
            .annotate(
                reserved=Sum("entitlement", filter=Q(status__in=reserving)),
                paid=Sum("entitlement", filter=Q(status__in=paid_states)),
            )
            .order_by(field)
        )
        out: list[dict[str, Any]] = [
            {
                "ar": g[label_ar] or "—",
                "en": g[label_en] or "—",
                "reserved": g["reserved"] or Decimal("0"),
                "paid": g["paid"] or Decimal("0"),
            }
            for g in grouped
        ]
        return _with_bars(out)

    applications = list(
        base.select_related("quotation").prefetch_related("quotation__lines__activity__category")
    )

    def quotation_rows(of: Any) -> list[dict[str, Any]]:
        # An application counts once per activity (or category) its quotation's lines touch.
        totals: dict[str, dict[str, Any]] = {}
        for application in applications:
            if application.quotation is None:
                continue
            for item in {of(ln.activity) for ln in application.quotation.lines.all()}:
                row = totals.setdefault(
                    item.code,
                    {"ar": item.name_ar, "en": item.name_en, "reserved": Decimal("0"), "paid": Decimal("0")},
                )
                row["paid" if application.status in paid_states else "reserved"] += application.entitlement
        return _with_bars(sorted(totals.values(), key=lambda r: r["en"]))

    tables = [
        (_("By programme"), rows("programme__code", "programme__name_ar", "programme__name_en")),
        (
            _("By licence tier"),
            rows("licence__tier__code", "licence__tier__name_ar", "licence__tier__name_en"),
        ),
        (
            _("By governorate"),
            rows(
                "licence__governorate__code",
                "licence__governorate__name_ar",
                "licence__governorate__name_en",
            ),
        ),
        (_("By activity category (of the quotation)"), quotation_rows(lambda a: a.category)),
        (_("By activity (of the quotation)"), quotation_rows(lambda a: a)),
    ]
    if request.GET.get("format") == "csv":
        return download(
            _report_csv(tables), content_type="text/csv; charset=utf-8", filename="support-report.csv"
        )
    return render(request, "portal/support_reports.html", {"tables": tables})


def _report_csv(tables: list[tuple[str, list[dict[str, Any]]]]) -> str:
    """The report's tables as one CSV (a BOM first, so that spreadsheets read the Arabic)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [_("Breakdown"), _("Arabic name"), _("English name"), _("Reserved (BHD)"), _("Paid (BHD)")]
    )
    for title, table in tables:
        for row in table:
            writer.writerow([title, row["ar"], row["en"], f"{row['reserved']:.3f}", f"{row['paid']:.3f}"])
    return "\ufeff" + out.getvalue()


def _with_bars(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    peak: Decimal = max([r["reserved"] + r["paid"] for r in out] or [Decimal("1")]) or Decimal("1")
    for r in out:
        r["reserved_pct"] = int(r["reserved"] * 100 / peak)
        r["paid_pct"] = int(r["paid"] * 100 / peak)
    return out
