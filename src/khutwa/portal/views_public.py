"""The information centre's public pages: activities, tiers, how to apply, tracking, licence check."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from khutwa.catalogue.models import Activity
from khutwa.catalogue.selectors import activity_list, body_list, tier_list
from khutwa.licensing import selectors
from khutwa.portal.access import found
from khutwa.portal.forms import TrackForm

TRACK_LIMIT = 10  # attempts per client per window
TRACK_WINDOW = 600  # seconds


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


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def track(request: HttpRequest) -> HttpResponse:
    """Reference + the CPR's last four digits → the status timeline, nothing else. Rate-limited."""
    form = TrackForm(request.GET or None)
    application = None
    status = 200
    if form.is_bound:
        key = f"track:{_client(request)}"
        attempts = cache.get_or_set(key, 0, TRACK_WINDOW) or 0
        if attempts >= TRACK_LIMIT:
            form.add_error(None, _("Too many attempts; try again in a few minutes."))
            status = 429
        elif form.is_valid():
            cache.incr(key)
            application = selectors.track(form.cleaned_data["reference"], form.cleaned_data["cpr_last4"])
            if application is None:
                form.add_error(None, _("No application matches this reference and CPR."))
                status = 404
    return render(request, "portal/track.html", {"form": form, "application": application}, status=status)


def licence_check(request: HttpRequest, number: str) -> HttpResponse:
    licence = found(lambda: selectors.licence_public(number))
    return render(request, "portal/licence_check.html", {"licence": licence})
