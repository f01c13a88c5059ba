from __future__ import annotations

from typing import Any

from django import template

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
    return {"field": bound_field}


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
