from __future__ import annotations

from typing import Any

from django import template

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
