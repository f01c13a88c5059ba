"""The rows of the staff lists that go deep (reviewer queue, pipeline, overdue reviews, licences),
drawn in Python rather than by the template language.

A page shows 25 rows of five cells; in the template language each row cost about a quarter of a
millisecond (a dozen variable lookups, filters, ``{% url %}``, ``{% if %}`` and ``{% translate %}``
nodes), which made the table alone as long as the whole of a trivial response. Here a row is one
f-string: every value escaped, the links from one reverse() per URL name (``url_with``), the
labels from the per-language choice maps (``display.choice_labels``). The pages' templates keep
everything else, and the markup is the one the templates drew.

The rows are read as plain values (``queryset.values(*REVIEW_FIELDS)`` …: the columns a row
shows and the list's ordering columns for the page's cursors), not model instances: a page of 26
instances and their joined objects cost more than the rest of the page's Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from khutwa.approvals.models import Review
from khutwa.display import choice_labels, is_arabic, name_in_language
from khutwa.licensing.models import Application, Licence
from khutwa.portal.templatetags.khutwa import status_class, url_with

#: The columns each list reads: what its rows show, and its ordering (the page's cursors).
REVIEW_FIELDS = (
    "id",
    "status",
    "due_date",
    "application__reference",
    "application__name_ar",
    "application__name_en",
    "application__trade_name",
)
APPLICATION_FIELDS = (
    "id",
    "reference",
    "trade_name",
    "governorate__name_ar",
    "governorate__name_en",
    "status",
    "created_at",
)
OVERDUE_FIELDS = (
    "id",
    "due_date",
    "application_id",
    "application__reference",
    "body__name_ar",
    "body__name_en",
)
LICENCE_FIELDS = (
    "id",
    "number",
    "trade_name",
    "tier__name_ar",
    "tier__name_en",
    "valid_until",
    "status",
    "issued_at",
)

Row = Mapping[str, Any]


def _day(value: dt.date | dt.datetime | None) -> str:
    """``{{ value|date:"Y-m-d" }}``: a datetime in the current time zone, a date as it is."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return value.strftime("%Y-%m-%d")


def _status(status: str, labels: Mapping[Any, str]) -> str:
    """The status badge: its label in the page's language (the value itself when it is none of
    the choices, as get_status_display shows it)."""
    label = labels.get(status, status)
    return f'<span class="badge text-bg-{status_class(status)}">{escape(label)}</span>'


def _name(row: Row, prefix: str) -> str:
    """``<obj>.name`` of a catalogue entry (BilingualName): the English name on English pages,
    else the Arabic one."""
    return str(row[f"{prefix}__name_ar"] if is_arabic() else row[f"{prefix}__name_en"])


def review_rows(reviews: Iterable[Row], *, today: dt.date) -> SafeString:
    """The reviewer's queue: reference, applicant, trade name, status, due date (red when overdue)."""
    overdue_label = escape(gettext("overdue"))
    labels = choice_labels(Review, "status")
    out = []
    for r in reviews:
        late = r["status"] == "pending" and r["due_date"] < today
        due_class = ' class="text-danger fw-bold"' if late else ""
        badge = f' <span class="badge text-bg-danger">{overdue_label}</span>' if late else ""
        name = name_in_language(r["application__name_ar"], r["application__name_en"])
        out.append(
            f'<tr data-review="{r["id"]}"><td><a href="{escape(url_with("portal:review", r["id"]))}">'
            f"<bdi>{escape(r['application__reference'])}</bdi></a></td><td>{escape(name)}</td>"
            f"<td>{escape(r['application__trade_name'])}</td>\n    <td>{_status(r['status'], labels)}</td>\n"
            f"    <td><bdi{due_class}>{_day(r['due_date'])}</bdi>{badge}</td></tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


def application_rows(applications: Iterable[Row]) -> SafeString:
    """The registrar's pipeline: reference, trade name, governorate, status, created."""
    labels = choice_labels(Application, "status")
    out = []
    for a in applications:
        out.append(
            f'<tr><td><a href="{escape(url_with("portal:application", a["id"]))}"><bdi>'
            f"{escape(a['reference'])}</bdi></a></td><td>{escape(a['trade_name'])}</td>"
            f"<td>{escape(_name(a, 'governorate'))}</td>\n"
            f"      <td>{_status(a['status'], labels)}</td><td><bdi>{_day(a['created_at'])}</bdi></td></tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


def overdue_rows(reviews: Iterable[Row]) -> SafeString:
    """Overdue reviews across bodies: reference, approving body, due date."""
    out = []
    for r in reviews:
        out.append(
            f'<tr><td><a href="{escape(url_with("portal:application", r["application_id"]))}">'
            f"<bdi>{escape(r['application__reference'])}</bdi></a></td><td>{escape(_name(r, 'body'))}</td>"
            f"<td><bdi>{_day(r['due_date'])}</bdi></td></tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


def licence_rows(licences: Iterable[Row]) -> SafeString:
    """Licences: number, trade name, tier, valid until, status."""
    labels = choice_labels(Licence, "status")
    out = []
    for lic in licences:
        out.append(
            f'<tr><td><a href="{escape(url_with("portal:licence", lic["number"]))}"><bdi>'
            f"{escape(lic['number'])}</bdi></a></td><td>{escape(lic['trade_name'])}</td>"
            f"<td>{escape(_name(lic, 'tier'))}</td>"
            f"<td><bdi>{_day(lic['valid_until'])}</bdi></td><td>{_status(lic['status'], labels)}</td></tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped
