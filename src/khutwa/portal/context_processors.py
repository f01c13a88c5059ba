from __future__ import annotations

from collections.abc import Callable
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


# The links of a set of roles, as (key, label, url) in one language: built once per process,
# language and script prefix (reverse() and a translation per link cost more than the rest of the
# header); which one is current and the badge are the request's own.
_LINKS: dict[tuple[str, str, frozenset[str], bool], list[tuple[str, str, str]]] = {}


def _links(roles: frozenset[str], *, is_staff: bool) -> list[tuple[str, str, str]]:
    key = (get_language() or "", get_script_prefix(), roles, is_staff)
    links = _LINKS.get(key)
    if links is None:
        official = bool(roles & (OFFICIAL_ROLES | {Role.SYSADMIN}))
        links = [("home", str(_("Home")), reverse("portal:home"))]
        for link_key, label, name, who in _NAV:
            if official if who is _PUBLIC else not roles & who:
                continue
            links.append((link_key, str(label), reverse(name)))
        if is_staff:
            links.append(("admin", str(_("Administration")), reverse("admin:index")))
        _LINKS[key] = links
    return links


def navigation(
    path: str, roles: set[str], *, is_staff: bool, unread: int | Callable[[], int]
) -> list[NavItem]:
    """The links a person's roles use: the public pages for the public, applicants, holders and
    customers; staff see their own pages only (no empty "Documents" or "My support"). `unread`
    (or the function that counts it) is read only when the links include "My applications"."""
    items = []
    for key, label, url in _links(frozenset(roles), is_staff=is_staff):
        current = path == url if key == "home" else path.startswith(url) and key != "admin"
        badge = 0
        if key == "my":
            badge = unread() if callable(unread) else unread
        items.append(NavItem(key, label, url, current=current, badge=badge))
    return items


def site(request: HttpRequest) -> dict[str, Any]:
    user: Any = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    roles: set[str] = user.role_names() if authenticated else set()
    counted: list[int] = []

    def unread() -> int:
        """The person's unread notices, counted on first use (staff pages never show them)."""
        if not counted:
            counted.append(user.notices.filter(read_at__isnull=True).count() if authenticated else 0)
        return counted[0]

    return {
        "KHUTWA_SITE_URL": settings.KHUTWA_SITE_URL,
        "user_roles": roles,
        "unread_notices": unread,
        "nav_items": navigation(
            request.path, roles, is_staff=bool(authenticated and user.is_staff), unread=unread
        ),
    }
