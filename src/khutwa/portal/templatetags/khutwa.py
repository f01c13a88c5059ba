from __future__ import annotations

import re
from typing import Any

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.translation import get_language, gettext

from khutwa import display
from khutwa.documents.services import UNIT_LABELS
from khutwa.portal.fields import field_context, form_problems

register = template.Library()

# Every status of applications, reviews, inspections, licences and their events, documents'
# answers, support applications, claims and payout batches, by what it means to the reader
# (a Bootstrap colour whose text contrast is at least 4.5:1 in khutwa.css):
# waiting on someone → info (blue), needs attention → warning, done well → success,
# refused or failed → danger, ended or not started → secondary. "In review" is never red.
MEANINGS = {
    "progress": "info",
    "attention": "warning",
    "success": "success",
    "error": "danger",
    "neutral": "secondary",
}
STATUS_MEANING = {
    # licence applications
    "draft": "neutral",
    "submitted": "progress",
    "screening": "progress",
    "in_review": "progress",
    "approved": "success",
    "licence_issued": "success",
    "rejected": "error",
    "withdrawn": "neutral",
    # reviews
    "pending": "progress",
    "info_requested": "attention",
    "approved_with_conditions": "success",
    "closed": "neutral",
    # inspections
    "scheduled": "progress",
    "passed": "success",
    "failed": "error",
    # licences and their events
    "active": "success",
    "suspended": "attention",
    "cancelled": "error",
    "expired": "neutral",
    "issued": "success",
    "renewed": "success",
    "amended": "progress",
    "reinstated": "success",
    # quotations' answers
    "accepted": "success",
    "declined": "neutral",
    # support applications and claims
    "claimed": "progress",
    "verified": "success",
    "paid": "success",
    # payout batches; enterprises
    "open": "progress",
    "refused": "error",
}
_CLASSES = {status: MEANINGS[meaning] for status, meaning in STATUS_MEANING.items()}


@register.filter
def status_class(status: Any) -> str:
    """The Bootstrap colour of a status badge (text-bg-<this>), by the status's meaning."""
    return _CLASSES.get(str(status), "secondary")


@register.filter
def amount(value: Any) -> str:
    """BHD amounts on every page: grouped, three decimals (49,675.000)."""
    return display.amount(value)


@register.filter
def unit_label(code: Any) -> str:
    """A document line's unit in the page's language ("piece" → "قطعة")."""
    return str(UNIT_LABELS.get(str(code), code))


@register.filter
def label(obj: Any, field_name: str) -> Any:
    """``{{ r|label:"status" }}`` is ``{{ r.get_status_display }}``, from a map built once per
    model field and language (display.choice_label): list rows use it."""
    return display.choice_label(obj, field_name)


@register.filter
def capped(n: int, cap: int) -> str:
    """A count that stops at cap (keyset.count_capped counts to cap + 1): "more than 1000"."""
    if n > cap:
        return gettext("more than %(n)s") % {"n": cap}
    return str(n)


# A page's rows link to their detail pages: Django's reverse() matches the pattern anew for every
# row (a tenth of a millisecond each). Reversed once per URL name, language and script prefix —
# with the first row's own value, so that any converter (int, slug, uuid) accepts it — a row's
# link is the two halves around its value.
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+")  # unreserved characters: reverse() would not quote them
_URL_HALVES: dict[tuple[str, str, str], tuple[str, str]] = {}


def url_with(name: str, value: Any) -> str:
    """reverse(name, args=[value]) for a URL with one argument."""
    text = str(value)
    if not _PLAIN.fullmatch(text):
        return reverse(name, args=[value])
    key = (name, get_language() or "", get_script_prefix())
    halves = _URL_HALVES.get(key)
    if halves is not None:
        return halves[0] + text + halves[1]
    url = reverse(name, args=[value])
    if url.count(text) == 1:  # the value stands once: the rest is the same for every row
        head, _, tail = url.partition(text)
        _URL_HALVES[key] = (head, tail)
    return url


@register.simple_tag
def row_url(name: str, value: Any) -> str:
    """``{% row_url 'portal:review' r.pk %}``: ``{% url 'portal:review' r.pk %}`` for list rows."""
    return url_with(name, value)


@register.filter
def display_name(obj: Any) -> str:
    """A person's or customer's name in the page's language, falling back to the other."""
    return display.display_name(obj)


@register.inclusion_tag("portal/_field.html")
def field(bound_field: Any) -> dict[str, Any]:
    """One field in the portal's markup: Bootstrap's class on its widget, marked when required,
    its help text and its errors tied to it (``aria-describedby``, ``aria-invalid``)."""
    return field_context(bound_field)


@register.inclusion_tag("portal/_error_summary.html")
def error_summary(form: Any = None, problems: Any = None) -> dict[str, Any]:
    """The GOV.UK error summary: a form's errors (or a view's problems) as links to their fields."""
    items = list(problems or [])
    if form is not None:
        items = form_problems(form) + items
    return {"problems": items}


@register.simple_tag(takes_context=True)
def query_with(context: Any, **kwargs: Any) -> str:
    """The current query string with some parameters replaced (for filters and pages)."""
    params = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + params.urlencode() if params else "?"
