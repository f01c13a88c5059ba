"""Pages. Thin: read through selectors, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from khutwa.accounts.roles import ROLE_LABELS, Role
from khutwa.catalogue.selectors import activity_list as activities_select
from khutwa.catalogue.selectors import body_list, tier_list


def home(request: HttpRequest) -> HttpResponse:
    roles: list[str] = []
    body = None
    if request.user.is_authenticated:
        roles = sorted(request.user.role_names())
        body = request.user.body
    context = {
        "roles": roles,
        "role_labels": [ROLE_LABELS[r] for r in roles if r in ROLE_LABELS],
        "Role": Role,
        "body": body,
        "tiers": tier_list(),
        "bodies": body_list(),
    }
    return render(request, "portal/home.html", context)


def activity_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/activities.html",
        {"activities": activities_select(), "tiers": tier_list(), "bodies": body_list()},
    )
