"""Pages of the registrar (pipeline, screening, overdue, licences) and reviewers (queue, review)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from khutwa.accounts.roles import Role
from khutwa.approvals import selectors as review_selectors
from khutwa.approvals import services as review_services
from khutwa.approvals.models import Inspection, Review, ReviewStatus
from khutwa.catalogue.models import Governorate
from khutwa.display import choice_labels
from khutwa.inputs import parse_id
from khutwa.licensing import selectors
from khutwa.licensing.models import Application, ApplicationStatus, LicenceStatus
from khutwa.portal import rows
from khutwa.portal.access import found, me, role_required
from khutwa.portal.detail_forms import submit
from khutwa.portal.forms import DecisionForm, InspectionForm, InspectionOutcomeForm
from khutwa.portal.paging import PAGE_SIZE, keyset_of


def _page(request: HttpRequest, queryset: Any) -> Page[Any]:
    paginator = Paginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


@role_required(Role.REGISTRAR)
def pipeline(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status and status not in ApplicationStatus.values:
        status = ""
    query = request.GET.get("q", "")[:100]
    governorate = request.GET.get("governorate", "")[:30]
    applications = selectors.pipeline(status=status, query=query, governorate=governorate)
    page = keyset_of(
        request, applications.values(*rows.APPLICATION_FIELDS), selectors.PIPELINE_ORDER, size=PAGE_SIZE
    )
    counts = selectors.pipeline_counts()
    labels = choice_labels(Application, "status")
    return render(
        request,
        "portal/registrar_pipeline.html",
        {
            "status_counts": [(value, labels[value], counts[value]) for value in ApplicationStatus.values],
            "cap": selectors.COUNT_CAP,
            "status": status,
            "q": query,
            "governorate": governorate,
            "governorates": Governorate.objects.all(),
            "page": page,
            "rows": rows.application_rows(page),
            "overdue": review_selectors.overdue_by_body(),
        },
    )


@role_required(Role.REGISTRAR)
def screening(request: HttpRequest) -> HttpResponse:
    queue = (
        Application.objects.filter(status__in=[ApplicationStatus.SUBMITTED, ApplicationStatus.SCREENING])
        .select_related("tier", "governorate")
        .order_by("submitted_at", "id")
    )
    return render(request, "portal/registrar_screening.html", {"page": _page(request, queue)})


@role_required(Role.REGISTRAR)
def overdue(request: HttpRequest) -> HttpResponse:
    page = keyset_of(
        request,
        review_selectors.overdue_reviews().values(*rows.OVERDUE_FIELDS),
        review_selectors.QUEUE_ORDER,
        size=PAGE_SIZE,
    )
    return render(
        request,
        "portal/registrar_overdue.html",
        {
            "by_body": review_selectors.overdue_by_body(),
            "page": page,
            "rows": rows.overdue_rows(page),
            "cap": selectors.COUNT_CAP,
            "today": timezone.localdate(),
        },
    )


@role_required(Role.REGISTRAR)
def licences(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status and status not in LicenceStatus.values:
        status = ""
    query = request.GET.get("q", "")[:100]
    page = keyset_of(
        request,
        selectors.licences_list(status=status, query=query).values(*rows.LICENCE_FIELDS),
        selectors.LICENCES_ORDER,
        size=PAGE_SIZE,
    )
    return render(
        request,
        "portal/registrar_licences.html",
        {
            "page": page,
            "rows": rows.licence_rows(page),
            "statuses": LicenceStatus.choices,
            "status": status,
            "q": query,
        },
    )


@role_required(Role.REVIEWER, Role.INSPECTOR)
def review_queue(request: HttpRequest) -> HttpResponse:
    user = me(request)
    status = request.GET.get("status", "open")
    allowed = {"open", "all", *ReviewStatus.values}
    if status not in allowed:
        status = "open"
    overdue_only = request.GET.get("overdue") == "1"
    query = request.GET.get("q", "")[:100]
    today = timezone.localdate()
    queue = review_selectors.review_queue(user, status=status, overdue=overdue_only, query=query, today=today)
    page = keyset_of(request, queue.values(*rows.REVIEW_FIELDS), review_selectors.QUEUE_ORDER, size=PAGE_SIZE)
    return render(
        request,
        "portal/review_queue.html",
        {
            "page": page,
            "rows": rows.review_rows(page, today=today),
            "status": status,
            "statuses": ReviewStatus.choices,
            "overdue": overdue_only,
            "q": query,
            "today": today,
            "body": user.body,
        },
    )


@role_required(Role.REVIEWER, Role.INSPECTOR)
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    review = found(lambda: review_selectors.get_review_for(user, pk))
    from khutwa.audit.services import audit_record

    audit_record(
        actor=user, action="licensing.application.view", obj=review.application, after={"review": review.pk}
    )
    return render(request, "portal/review_detail.html", _review_context(request, review))


def _review_context(
    request: HttpRequest,
    review: Review,
    *,
    recording: tuple[int, InspectionOutcomeForm] | None = None,
    **failed: forms.Form,
) -> dict[str, Any]:
    """A review's page; ``failed`` is the form sent back with its errors (``recording``: the
    outcome of which inspection), if any."""
    user = me(request)
    application = selectors.get_application_for(user, pk=review.application_id)
    inspections = list(review.inspections.select_related("inspector"))
    for inspection in inspections:
        # One outcome form per inspection, each with its own element ids.
        failed_outcome = recording[1] if recording and recording[0] == inspection.pk else None
        inspection.outcome_form = failed_outcome or InspectionOutcomeForm(  # type: ignore[attr-defined]
            auto_id=f"id_outcome{inspection.pk}_%s"
        )
    return {
        "review": review,
        "application": application,
        "inspections": inspections,
        "info_requests": review.info_requests.all(),
        "decide_form": DecisionForm(),
        "inspection_form": InspectionForm(
            body_id=review.body_id, initial={"scheduled_for": timezone.localdate(), "inspector": user.pk}
        ),
        "today": timezone.localdate(),
        "is_overdue": review_selectors.is_overdue(review),
        "other_reviews": application.reviews.exclude(pk=review.pk),
        **failed,
    }


@role_required(Role.REVIEWER, Role.INSPECTOR)
def review_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    user = me(request)
    review = found(lambda: review_selectors.get_review_for(user, pk))
    post = request.POST
    recording: tuple[int, InspectionOutcomeForm] | None = None
    form: forms.Form
    if action == "decide":
        form = DecisionForm(post)
        success = _("Decision recorded.")

        def call(data: dict[str, Any]) -> Any:
            return review_services.review_decide(
                actor=user,
                review=review,
                decision=data["decision"],
                reason=data["reason"],
                conditions=data["conditions"],
            )

    elif action == "inspection":
        form = InspectionForm(post, body_id=review.body_id)
        success = _("Inspection scheduled.")

        def call(data: dict[str, Any]) -> Any:
            return review_services.inspection_schedule(
                actor=user, review=review, scheduled_for=data["scheduled_for"], inspector=data["inspector"]
            )

    elif action == "outcome":
        inspection_id = parse_id(post.get("inspection", ""))
        inspection = Inspection.objects.filter(pk=inspection_id or 0, review=review).first()
        if inspection is None:
            raise Http404
        outcome_form = InspectionOutcomeForm(post, auto_id=f"id_outcome{inspection.pk}_%s")
        form, recording = outcome_form, (inspection.pk, outcome_form)
        success = _("Inspection outcome recorded.")

        def call(data: dict[str, Any]) -> Any:
            return review_services.inspection_record(
                actor=user, inspection=inspection, outcome=data["outcome"], notes=data["notes"]
            )

    else:
        raise Http404
    return submit(
        request,
        form,
        call,
        success=success,
        back=reverse("portal:review", kwargs={"pk": pk}),
        template="portal/review_detail.html",
        context=lambda f: _review_context(
            request, review, recording=recording, **({} if recording else {f"{action}_form": f})
        ),
        fragment=f"portal/forms/_review_{action}.html" if action != "outcome" else "",
    )
