from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_script_prefix, reverse
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from khutwa.accounts.roles import OFFICIAL_ROLES, Role


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url: str
    current: bool = False
    badge: int = 0


# (key, label, url name, roles that see it; None: everyone who is not an official)
_PUBLIC = None
_NAV: list[tuple[str, Any, str, frozenset[str] | None]] = [
    ("activities", _("Activities"), "portal:activities", _PUBLIC),
    ("how_to_apply", _("How to apply"), "portal:how_to_apply", _PUBLIC),
    ("track", _("Track"), "portal:track", _PUBLIC),
    ("statistics", _("Statistics"), "portal:statistics", _PUBLIC),
    ("my", _("My applications"), "portal:my", frozenset({Role.APPLICANT, Role.HOLDER})),
    ("documents", _("Documents"), "portal:documents", frozenset({Role.HOLDER, Role.TAMKEEN_CUSTOMER})),
    ("customers", _("Customers"), "portal:customers", frozenset({Role.HOLDER})),
    ("support", _("My support"), "portal:support", frozenset({Role.HOLDER, Role.TAMKEEN_CUSTOMER})),
    ("verify", _("Verify"), "portal:verify_upload", _PUBLIC),
    ("programmes", _("Tamkeen support"), "portal:programmes", _PUBLIC),
    ("pipeline", _("Pipeline"), "portal:pipeline", frozenset({Role.REGISTRAR})),
    ("screening", _("Screening queue"), "portal:screening", frozenset({Role.REGISTRAR})),
    ("overdue", _("Overdue reviews"), "portal:overdue", frozenset({Role.REGISTRAR})),
    ("licences", _("Licences"), "portal:licences", frozenset({Role.REGISTRAR})),
    ("reviews", _("Review queue"), "portal:reviews", frozenset({Role.REVIEWER, Role.INSPECTOR})),
    ("support_queue", _("Support queue"), "portal:support_queue", frozenset({Role.TAMKEEN_OFFICER})),
    ("support_finance", _("Payouts"), "portal:support_finance", frozenset({Role.TAMKEEN_FINANCE})),
    (
        "support_reports",
        _("Support reports"),
        "portal:support_reports",
        frozenset({Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE}),
    ),
    ("statistics_registrar", _("Dashboard"), "portal:statistics_registrar", frozenset({Role.REGISTRAR})),
    (
        "statistics_tamkeen",
        _("Dashboard"),
        "portal:statistics_tamkeen",
        frozenset({Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE}),
    ),
]


_urls: dict[tuple[str, str | None, str], str] = {}


def _url(name: str) -> str:
    """`reverse(name)` for these argument-less links, kept per language (the URLs carry its
    prefix) and script prefix: the navigation is on every page."""
    key = (name, get_language(), get_script_prefix())
    url = _urls.get(key)
    if url is None:
        url = _urls[key] = reverse(name)
    return url


def navigation(path: str, roles: set[str], *, is_staff: bool, unread: int) -> list[NavItem]:
    """The links a person's roles use: the public pages for the public, applicants, holders and
    customers; staff see their own pages only (no empty "Documents" or "My support")."""
    official = bool(roles & (OFFICIAL_ROLES | {Role.SYSADMIN}))
    home = _url("portal:home")
    items = [NavItem("home", _("Home"), home, current=path == home)]
    for key, label, name, who in _NAV:
        if official if who is _PUBLIC else not roles & who:
            continue
        url = _url(name)
        items.append(
            NavItem(key, label, url, current=path.startswith(url), badge=unread if key == "my" else 0)
        )
    if is_staff:
        items.append(NavItem("admin", _("Administration"), _url("admin:index")))
    return items


def site(request: HttpRequest) -> dict[str, Any]:
    user: Any = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    roles: set[str] = user.role_names() if authenticated else set()
    unread = user.notices.filter(read_at__isnull=True).count() if authenticated else 0
    return {
        "KHUTWA_SITE_URL": settings.KHUTWA_SITE_URL,
        "user_roles": roles,
        "unread_notices": unread,
        "nav_items": navigation(
            request.path, roles, is_staff=bool(authenticated and user.is_staff), unread=unread
        ),
    }
