from __future__ import annotations

from typing import Any

from django import template

from khutwa.portal.fields import field_context, form_problems

register = template.Library()

_CLASSES = {
    "draft": "secondary",
    "submitted": "info",
    "screening": "info",
    "in_review": "primary",
    "approved": "success",
    "licence_issued": "success",
    "rejected": "danger",
    "withdrawn": "secondary",
    "pending": "warning",
    "info_requested": "info",
    "approved_with_conditions": "success",
    "closed": "secondary",
    "active": "success",
    "suspended": "warning",
    "cancelled": "danger",
    "expired": "secondary",
    "scheduled": "info",
    "passed": "success",
    "failed": "danger",
}


@register.filter
def status_class(status: Any) -> str:
    return _CLASSES.get(str(status), "secondary")


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
