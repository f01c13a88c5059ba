"""Pages of applicants and licence holders (the registrar uses the same pages for walk-ins)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from khutwa.accounts.roles import Role
from khutwa.accounts.selectors import contact_confirmed
from khutwa.approvals import services as review_services
from khutwa.approvals.models import InfoRequest
from khutwa.audit.services import audit_record
from khutwa.errors import NotFound, Refused
from khutwa.http import download
from khutwa.licensing import selectors, services, workflow
from khutwa.licensing.models import Application, ApplicationStatus, Licence
from khutwa.portal.access import found, me
from khutwa.portal.detail_forms import submit
from khutwa.portal.forms import (
    ActionForm,
    AddBodyForm,
    AnswerForm,
    ApplicationForm,
    AttachmentForm,
    ItemsForm,
    ReasonForm,
    VatNumberForm,
    initial_from,
)


@login_required
def my_applications(request: HttpRequest) -> HttpResponse:
    user = me(request)
    return render(
        request,
        "portal/my_applications.html",
        {
            "applications": selectors.applications_of(user),
            "licences": selectors.licences_of(user),
            "notices": user.notices.select_related("application")[:10],
        },
    )


@login_required
def application_new(request: HttpRequest) -> HttpResponse:
    user = me(request)
    assisted = user.has_role(Role.REGISTRAR)
    if not assisted and not contact_confirmed(user):
        messages.info(request, _("Confirm your e-mail address or your mobile number before applying."))
        return redirect("portal:account_confirm")
    initial = (
        {}
        if assisted
        else {
            "cpr": user.cpr,
            "name_ar": user.name_ar,
            "name_en": user.get_full_name(),
            "phone": user.phone,
            "email": user.email,
        }
    )
    form = ApplicationForm(request.POST or None, initial=initial, cpr_editable=assisted)
    open_application = None if assisted else selectors.open_application_of(user)
    if request.method == "POST" and form.is_valid():
        data = form.to_input()
        try:
            application = services.application_create(actor=user, data=data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        except Refused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(
                request,
                _("Draft %(ref)s saved. Add your documents, then submit.") % {"ref": application.reference},
            )
            return redirect("portal:application", pk=application.pk)
    return render(
        request,
        "portal/application_form.html",
        {"form": form, "assisted": assisted, "editing": None, "open_application": open_application},
    )


@login_required
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    application = found(lambda: selectors.get_application_for(me(request), pk=pk))
    if application.status != ApplicationStatus.DRAFT:
        messages.error(request, _("Only a draft can be edited."))
        return redirect("portal:application", pk=pk)
    data = services.application_input(application)
    registrar = me(request).has_role(Role.REGISTRAR)
    form = ApplicationForm(request.POST or None, initial=initial_from(data), cpr_editable=registrar)
    if request.method == "POST" and form.is_valid():
        try:
            services.application_update(actor=me(request), application=application, data=form.to_input())
        except ValidationError as exc:
            form.add_service_errors(exc)
        except NotFound:
            raise Http404 from None
        except Refused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("Saved."))
            return redirect("portal:application", pk=pk)
    return render(
        request, "portal/application_form.html", {"form": form, "assisted": registrar, "editing": application}
    )


@login_required
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    application = found(lambda: selectors.get_application_for(user, pk=pk))
    if application.applicant_id != user.pk:
        # Staff reading an applicant's personal data leave a trace.
        audit_record(actor=user, action="licensing.application.view", obj=application)
    return render(request, "portal/application_detail.html", _application_context(request, application))


def _application_context(
    request: HttpRequest,
    application: Application,
    failed: Mapping[str, forms.Form] | None = None,
    *,
    answering: tuple[int, AnswerForm] | None = None,
) -> dict[str, Any]:
    """An application's page; ``failed`` is the form sent back with its errors (``answering``:
    the answer to which request for information), if any."""
    user = me(request)
    is_registrar = user.has_role(Role.REGISTRAR)
    is_owner = application.applicant_id == user.pk
    actor_kinds = ([workflow.APPLICANT] if is_owner else []) + ([workflow.REGISTRAR] if is_registrar else [])
    actions = {t.name for kind in actor_kinds for t in workflow.available(application, kind)}
    if is_registrar and application.channel == "assisted":
        actions |= {
            t.name for t in workflow.available(application, workflow.APPLICANT) if t.name in ("submit",)
        }
    requests = list(
        InfoRequest.objects.filter(review__application=application).select_related("review__body")
    )
    for info in requests:
        # One answer form per request, each with its own element ids.
        failed_answer = answering[1] if answering and answering[0] == info.pk else None
        info.answer_form = failed_answer or AnswerForm(auto_id=f"id_answer{info.pk}_%s")  # type: ignore[attr-defined]
    return {
        "application": application,
        "actions": actions,
        "is_registrar": is_registrar,
        "is_owner": is_owner,
        "can_edit": application.status == ApplicationStatus.DRAFT and (is_owner or is_registrar),
        "can_attach": application.status in ("draft", "submitted", "screening")
        and (is_owner or is_registrar),
        "info_requests": requests,
        "attachment_form": AttachmentForm(),
        "appeal_form": ReasonForm(auto_id="appeal_%s"),
        "return_form": ItemsForm(),
        "add_body_form": AddBodyForm(),
        "action_form": ActionForm(),
        "timeline": application.transitions.all(),
        **(failed or {}),
    }


@login_required
def application_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    user = me(request)
    application = found(lambda: selectors.get_application_for(user, pk=pk))
    post = request.POST
    calls: dict[str, tuple[forms.Form, Callable[[dict[str, Any]], Any], str]] = {
        "submit": (
            ActionForm(post),
            lambda data: services.application_submit(actor=user, application=application),
            _("Submitted."),
        ),
        "withdraw": (
            ActionForm(post),
            lambda data: services.application_withdraw(actor=user, application=application),
            _("Withdrawn."),
        ),
        "start_screening": (
            ActionForm(post),
            lambda data: services.application_start_screening(actor=user, application=application),
            _("Screening started."),
        ),
        "accept": (
            ActionForm(post),
            lambda data: services.application_accept(actor=user, application=application),
            _("Accepted and sent to the approving bodies."),
        ),
        "return": (
            ItemsForm(post),
            lambda data: services.application_return(
                actor=user, application=application, items=data["items"]
            ),
            _("Returned to the applicant."),
        ),
        "appeal": (
            ReasonForm(post, auto_id="appeal_%s"),
            lambda data: services.application_appeal(
                actor=user, application=application, reason=data["reason"]
            ),
            _("Your appeal was received."),
        ),
        "add_body": (
            AddBodyForm(post),
            lambda data: services.review_body_add(
                actor=user, application=application, body_code=data["body"], reason=data["reason"]
            ),
            _("Body added."),
        ),
        "issue_licence": (
            ActionForm(post),
            lambda data: services.licence_issue(actor=user, application=application),
            _("Licence issued."),
        ),
    }
    if action not in calls:
        raise Http404
    form, call, success = calls[action]
    # A button alone reports a refusal at the top of the actions; a form with fields, in itself.
    name = f"{action}_form" if form.fields else "action_form"
    return submit(
        request,
        form,
        call,
        success=str(success),
        back=reverse("portal:application", kwargs={"pk": pk}),
        template="portal/application_detail.html",
        context=lambda f: _application_context(request, application, {name: f}),
        fragment=f"portal/forms/_application_{action}.html" if form.fields else "",
    )


@login_required
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    application = found(lambda: selectors.get_application_for(me(request), pk=pk))
    form = AttachmentForm(request.POST, request.FILES)

    def attach(data: dict[str, Any]) -> Any:
        upload = data["file"]
        content = upload.read(50 * 1024 * 1024 + 1)
        return services.attachment_add(
            actor=me(request), application=application, kind=data["kind"], name=upload.name, content=content
        )

    return submit(
        request,
        form,
        attach,
        success=_("Document attached."),
        back=reverse("portal:application", kwargs={"pk": pk}),
        template="portal/application_detail.html",
        context=lambda f: _application_context(request, application, {"attachment_form": f}),
    )


@login_required
def attachment_download(request: HttpRequest, public_id: str) -> HttpResponseBase:
    attachment = found(lambda: selectors.get_attachment_for(me(request), public_id))

    if attachment.application.applicant_id != me(request).pk:
        audit_record(
            actor=me(request),
            action="licensing.attachment.view",
            obj=attachment.application,
            after={"attachment": str(attachment.public_id)},
        )
    path = services.attachment_path(attachment)
    if not path.exists():
        raise Http404
    response = FileResponse(
        path.open("rb"),
        content_type=attachment.content_type,
        as_attachment=True,
        filename=attachment.original_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def answer_info(request: HttpRequest, pk: int, request_id: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    application = found(lambda: selectors.get_application_for(me(request), pk=pk))
    if application.applicant_id != me(request).pk and not me(request).has_role(Role.REGISTRAR):
        raise Http404
    info = InfoRequest.objects.filter(pk=request_id, review__application=application).first()
    if info is None:
        raise Http404
    return submit(
        request,
        AnswerForm(request.POST, auto_id=f"id_answer{info.pk}_%s"),
        lambda data: review_services.review_answer(
            actor=me(request), info_request=info, answer=data["answer"]
        ),
        success=_("Answer sent; the body's clock resumes."),
        back=reverse("portal:application", kwargs={"pk": pk}),
        template="portal/application_detail.html",
        context=lambda f: _application_context(
            request, application, answering=(info.pk, cast(AnswerForm, f))
        ),
    )


@login_required
def licence_detail(request: HttpRequest, number: str) -> HttpResponse:
    licence = found(lambda: selectors.get_licence_for(me(request), number))
    return render(request, "portal/licence_detail.html", _licence_context(request, licence))


def _licence_context(request: HttpRequest, licence: Licence, **failed: forms.Form) -> dict[str, Any]:
    """A licence's page; ``failed`` is the form sent back with its errors, if any."""
    return {
        "licence": licence,
        "events": licence.events.select_related("actor", "application"),
        "is_registrar": me(request).has_role(Role.REGISTRAR),
        "is_holder": licence.holder_id == me(request).pk,
        # One form per change, each with its own element ids.
        "suspend_form": ReasonForm(auto_id="suspend_%s"),
        "reinstate_form": ReasonForm(auto_id="reinstate_%s"),
        "cancel_form": ReasonForm(auto_id="cancel_%s"),
        "renew_form": ActionForm(),
        "vat_form": VatNumberForm(initial={"vat_number": licence.vat_number}),
        "open_change": licence.applications.filter(
            kind__in=["renewal", "amendment"],
            status__in=["draft", "submitted", "screening", "in_review", "approved"],
        ).first(),
        **failed,
    }


@login_required
def licence_certificate(request: HttpRequest, number: str) -> HttpResponse:
    licence = found(lambda: selectors.get_licence_for(me(request), number))
    from khutwa.licensing.certificate import certificate_pdf

    return download(
        certificate_pdf(licence), content_type="application/pdf", filename=f"{licence.number}.pdf"
    )


@login_required
def licence_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    licence = found(lambda: selectors.get_licence_for(me(request), number))
    back = reverse("portal:licence", kwargs={"number": licence.number})
    post = request.POST
    form: forms.Form
    if action in ("suspend", "reinstate", "cancel"):
        form = ReasonForm(post, auto_id=f"{action}_%s")
        return _licence_submit(
            request,
            licence,
            action,
            form,
            lambda data: services.licence_change_status(
                actor=me(request), licence=licence, action=action, reason=data["reason"]
            ),
            success=_("Done."),
            back=back,
        )
    if action == "vat":
        return _licence_submit(
            request,
            licence,
            action,
            VatNumberForm(post),
            lambda data: services.licence_set_vat_number(
                actor=me(request), licence=licence, vat_number=data["vat_number"]
            ),
            success=_("The VAT account number was recorded."),
            back=back,
        )
    if action == "renew":
        return _licence_submit(
            request,
            licence,
            action,
            ActionForm(post),
            lambda data: services.renewal_open(actor=me(request), licence=licence),
            success=lambda application: (
                _("Renewal %(ref)s opened as a draft; check it and submit.") % {"ref": application.reference}
            ),
            back=lambda application: reverse("portal:application", kwargs={"pk": application.pk}),
        )
    raise Http404


def _licence_submit(
    request: HttpRequest,
    licence: Licence,
    action: str,
    form: forms.Form,
    call: Callable[[dict[str, Any]], Any],
    *,
    success: str | Callable[[Any], str],
    back: str | Callable[[Any], str],
) -> HttpResponse:
    return submit(
        request,
        form,
        call,
        success=success,
        back=back,
        template="portal/licence_detail.html",
        context=lambda f: _licence_context(request, licence, **{f"{action}_form": f}),
        fragment=f"portal/forms/_licence_{action}.html",
    )


@login_required
def licence_amend(request: HttpRequest, number: str) -> HttpResponse:
    licence = found(lambda: selectors.get_licence_for(me(request), number))
    form = ApplicationForm(
        request.POST or None, initial=initial_from(services.licence_input(licence)), cpr_editable=False
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = services.amendment_open(actor=me(request), licence=licence, data=form.to_input())
        except ValidationError as exc:
            form.add_service_errors(exc)
        except Refused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(
                request,
                _("Amendment %(ref)s opened as a draft; submit it when ready.")
                % {"ref": application.reference},
            )
            return redirect("portal:application", pk=application.pk)
    return render(
        request,
        "portal/application_form.html",
        {"form": form, "assisted": False, "editing": None, "amending": licence},
    )


@login_required
def notices(request: HttpRequest) -> HttpResponse:
    items = list(me(request).notices.select_related("application")[:100])
    services.notices_mark_read(user=me(request))
    return render(request, "portal/notices.html", {"notices": items})
