"""The account's notification preferences: channels (e-mail, SMS) and language."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from khutwa.notifications.models import Language
from khutwa.notifications.selectors import preference_for
from khutwa.notifications.services import preference_update
from khutwa.portal.access import me


class PreferenceForm(forms.Form):
    email = forms.BooleanField(label=gettext_lazy("By e-mail"), required=False)
    sms = forms.BooleanField(label=gettext_lazy("By text message (SMS)"), required=False)
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the messages"),
        choices=Language.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )


@login_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    user = me(request)
    current = preference_for(user)
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            try:
                preference_update(
                    actor=user,
                    by_email=form.cleaned_data["email"],
                    by_sms=form.cleaned_data["sms"],
                    language=form.cleaned_data["language"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Your notification preferences were saved."))
                return redirect("portal:notifications")
        status = 422
    else:
        form = PreferenceForm(
            initial={"email": current.by_email, "sms": current.by_sms, "language": current.language}
        )
        status = 200
    return render(
        request,
        "portal/notification_preferences.html",
        {"form": form, "current": current, "account": user},
        status=status,
    )
