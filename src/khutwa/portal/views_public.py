"""The information centre's public pages: activities, tiers, how to apply, tracking, licence check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from khutwa import ratelimit
from khutwa.catalogue.models import Activity
from khutwa.catalogue.selectors import activity_list, body_list, tier_list
from khutwa.config.routers import replica_read
from khutwa.licensing import selectors
from khutwa.portal.access import found
from khutwa.portal.forms import TrackForm
from khutwa.portal.limits import refused, too_many


def activity_detail(request: HttpRequest, code: str) -> HttpResponse:
    activity = get_object_or_404(activity_list(), code=code)
    return render(request, "portal/activity_detail.html", {"activity": activity})


def how_to_apply(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/how_to_apply.html",
        {
            "tiers": tier_list(),
            "bodies": body_list(),
            "activity_count": Activity.objects.filter(is_active=True).count(),
        },
    )


def track(request: HttpRequest) -> HttpResponse:
    """Reference + the CPR's last four digits (posted, never in the address, so that access logs
    do not carry them) → the status timeline, nothing else. Rate-limited per client, and failed
    attempts per reference, whoever makes them."""
    form = TrackForm(request.POST if request.method == "POST" else None)
    application = None
    status = 200
    if form.is_bound:
        if limited := refused(request, "track"):
            return limited
        if form.is_valid():
            reference = form.cleaned_data["reference"].strip().upper()
            if ratelimit.exhausted("track-reference", reference):
                return too_many(request, "track-reference")
            application = selectors.track(reference, form.cleaned_data["cpr_last4"])
            if application is None:
                ratelimit.hit("track-reference", reference)
                form.add_error(None, _("No application matches this reference and CPR."))
                status = 404
        else:
            status = 400
    return render(request, "portal/track.html", {"form": form, "application": application}, status=status)


@replica_read
def licence_check(request: HttpRequest, number: str) -> HttpResponse:
    if limited := refused(request, "licence"):
        return limited
    licence = found(lambda: selectors.licence_public(number))
    return render(request, "portal/licence_check.html", {"licence": licence})


def _statement(request: HttpRequest, name: str) -> HttpResponse:
    """A statement page: its text is written per language (portal/statements/<name>.<lang>.html)."""
    language = "en" if (get_language() or "ar").startswith("en") else "ar"
    return render(request, f"portal/{name}.html", {"statement": f"portal/statements/{name}.{language}.html"})


def privacy(request: HttpRequest) -> HttpResponse:
    return _statement(request, "privacy")


def accessibility(request: HttpRequest) -> HttpResponse:
    return _statement(request, "accessibility")
