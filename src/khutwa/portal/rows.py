"""The rows of the staff lists that go deep (reviewer queue, pipeline, overdue reviews, licences),
drawn in Python rather than by the template language.

A page shows 25 rows of five cells; in the template language each row cost about a quarter of a
millisecond (a dozen variable lookups, filters, ``{% url %}``, ``{% if %}`` and ``{% translate %}``
nodes), which made the table alone as long as the whole of a trivial response. Here a row is one
f-string: every value escaped, the links from one reverse() per URL name (``url_with``), the
labels from the per-language choice maps (``display.choice_label``). The pages' templates keep
everything else, and the markup is the one the templates drew.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from khutwa.display import choice_label, display_name
from khutwa.portal.templatetags.khutwa import status_class, url_with


def _day(value: dt.date | dt.datetime | None) -> str:
    """``{{ value|date:"Y-m-d" }}``: a datetime in the current time zone, a date as it is."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return value.strftime("%Y-%m-%d")


def _status(obj: Any) -> str:
    return (
        f'<span class="badge text-bg-{status_class(obj.status)}">{escape(choice_label(obj, "status"))}</span>'
    )


def review_rows(reviews: Iterable[Any], *, today: dt.date) -> SafeString:
    """The reviewer's queue: reference, applicant, trade name, status, due date (red when overdue)."""
    overdue_label = escape(gettext("overdue"))
    out = []
    for r in reviews:
        a = r.application
        late = r.status == "pending" and r.due_date < today
        due_class = ' class="text-danger fw-bold"' if late else ""
        badge = f' <span class="badge text-bg-danger">{overdue_label}</span>' if late else ""
        out.append(
            f'<tr data-review="{r.pk}"><td><a href="{escape(url_with("portal:review", r.pk))}">'
            f"<bdi>{escape(a.reference)}</bdi></a></td><td>{escape(display_name(a))}</td>"
            f"<td>{escape(a.trade_name)}</td>\n    <td>{_status(r)}</td>\n"
            f"    <td><bdi{due_class}>{_day(r.due_date)}</bdi>{badge}</td></tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


def application_rows(applications: Iterable[Any]) -> SafeString:
    """The registrar's pipeline: reference, trade name, governorate, status, created."""
    out = []
    for a in applications:
        out.append(
            f'<tr><td><a href="{escape(url_with("portal:application", a.pk))}"><bdi>{escape(a.reference)}'
            f"</bdi></a></td><td>{escape(a.trade_name)}</td><td>{escape(a.governorate.name)}</td>\n"
            f"      <td>{_status(a)}</td><td><bdi>{_day(a.created_at)}</bdi></td></tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


def overdue_rows(reviews: Iterable[Any]) -> SafeString:
    """Overdue reviews across bodies: reference, approving body, due date."""
    out = []
    for r in reviews:
        out.append(
            f'<tr><td><a href="{escape(url_with("portal:application", r.application_id))}">'
            f"<bdi>{escape(r.application.reference)}</bdi></a></td><td>{escape(r.body.name)}</td>"
            f"<td><bdi>{_day(r.due_date)}</bdi></td></tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


def licence_rows(licences: Iterable[Any]) -> SafeString:
    """Licences: number, trade name, tier, valid until, status."""
    out = []
    for lic in licences:
        out.append(
            f'<tr><td><a href="{escape(url_with("portal:licence", lic.number))}"><bdi>{escape(lic.number)}'
            f"</bdi></a></td><td>{escape(lic.trade_name)}</td><td>{escape(lic.tier.name)}</td>"
            f"<td><bdi>{_day(lic.valid_until)}</bdi></td><td>{_status(lic)}</td></tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped
