"""Getting an account: sign-up, confirming the e-mail address and the mobile number, and the way
on to applying. Thin: accounts.forms validates, accounts.services writes."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from khutwa.accounts import services
from khutwa.accounts.forms import ContactForm, PhoneCodeForm, SignupForm
from khutwa.accounts.selectors import contact_confirmed
from khutwa.errors import Refused
from khutwa.portal.access import me
from khutwa.portal.limits import refused


@never_cache
@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if (limited := refused(request, "signup")) is not None:
            return limited
        if form.is_valid():
            try:
                user = services.user_sign_up(**form.to_kwargs())
            except Refused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(
                    request,
                    _("Your account is ready. Confirm your e-mail address or your mobile number to apply."),
                )
                return redirect("portal:account_confirm")
    status = 400 if form.errors else 200
    return render(request, "registration/signup.html", {"form": form}, status=status)


@never_cache
@login_required
def account_confirm(request: HttpRequest) -> HttpResponse:
    """Where the user stands with confirming their e-mail and mobile; they type the texted code,
    or ask for a new link or code."""
    user = me(request)
    form = PhoneCodeForm(request.POST if request.POST.get("action") == "code" else None)
    status = 200
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "code" and form.is_valid():
                services.phone_confirm(user=user, code=form.cleaned_data["code"])
                messages.success(request, _("Your mobile number is confirmed."))
                return _onwards(request)
            if action == "send-code":
                if services.phone_code_send(user=user) is not None:
                    messages.success(request, _("We have sent a new code to your mobile."))
                return redirect("portal:account_confirm")
            if action == "send-email":
                services.email_confirmation_send(user=user)
                messages.success(request, _("We have sent a new link to your e-mail address."))
                return redirect("portal:account_confirm")
        except Refused as exc:
            if form.is_bound:
                form.add_error("code", str(exc.message))
            else:
                error = str(exc.message)
            status = exc.status
        else:
            status = 400
    context = {"form": form, "error": error, "confirmed": contact_confirmed(user), "account": user}
    return render(request, "registration/account_confirm.html", context, status=status)


@never_cache
@login_required
@sensitive_post_parameters("password")
def account(request: HttpRequest) -> HttpResponse:
    """The person's own details, and changing the e-mail address or the mobile number (what
    changes is confirmed again: on to the confirmation page)."""
    user = me(request)
    form = ContactForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.contact_change(user=user, **form.cleaned_data)
        except Refused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            if not changed:
                messages.info(request, _("Nothing was changed."))
                return redirect("portal:account")
            messages.success(request, _("Saved. Confirm what you changed."))
            return redirect("portal:account_confirm")
    status = 400 if form.errors else 200
    return render(request, "registration/account.html", {"form": form, "account": user}, status=status)


def _onwards(request: HttpRequest) -> HttpResponse:
    """Confirmed: on to the application form (or the home page for anyone who is not applying)."""
    user = me(request)
    if user.has_role("applicant") and not user.has_role("holder"):
        return redirect("portal:application_new")
    return redirect("portal:home")


@never_cache
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the e-mail. It confirms whoever opens it (the link is the proof); logged in
    as the same person, they go on to apply."""
    try:
        user = services.email_confirm(token=token)
    except Refused as exc:
        return render(
            request,
            "registration/email_confirm_failed.html",
            {"error": str(exc.message), "hours": settings.KHUTWA_EMAIL_CONFIRM_HOURS},
            status=exc.status,
        )
    messages.success(request, _("Your e-mail address is confirmed."))
    if request.user.is_authenticated and request.user.pk == user.pk:
        return _onwards(request)
    return redirect("portal:login")
