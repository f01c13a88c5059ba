"""How the portal renders a form field and names its errors: one place for every form.

``field_context`` gives ``portal/_field.html`` a field whose widget carries Bootstrap's class,
``required``/``aria-required`` when the field must be filled, and ``aria-describedby`` pointing
at its help text and its errors (``aria-invalid`` when it has any). ``form_problems`` lists a
form's errors for the error summary at the top of the page, each linking to its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms


@dataclass(frozen=True)
class Problem:
    """One line of the error summary: the element it links to ("" for none) and the sentence."""

    target: str
    text: str


def widget_kind(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.HiddenInput):
        return "hidden"
    return "input"


_CLASSES = {
    "checkboxes": "form-check-input",
    "radios": "form-check-input",
    "checkbox": "form-check-input",
    "select": "form-select",
    "input": "form-control",
}


def is_required(bound_field: Any) -> bool:
    """Required by the form, or by the service behind it (``required_fields`` on the form: the
    portal's forms leave checking to the services, which name every missing value)."""
    return bool(bound_field.field.required) or bound_field.name in getattr(
        bound_field.form, "required_fields", ()
    )


def field_target(bound_field: Any) -> str:
    """The element an error summary links to: the input, or the first option of a group."""
    kind = widget_kind(bound_field.field.widget)
    if kind in ("checkboxes", "radios"):
        return f"{bound_field.auto_id}_0"
    return str(bound_field.auto_id)


def field_context(bound_field: Any) -> dict[str, Any]:
    widget = bound_field.field.widget
    kind = widget_kind(widget)
    required = is_required(bound_field)
    base = bound_field.auto_id
    help_id = f"{base}-help" if bound_field.help_text else ""
    error_id = f"{base}-error" if bound_field.errors else ""
    described = " ".join(i for i in (help_id, error_id) if i)
    attrs: dict[str, Any] = {}
    css = _CLASSES.get(kind, "")
    existing = str(widget.attrs.get("class", ""))
    if css and css not in existing.split():
        attrs["class"] = f"{existing} {css}".strip()
    if bound_field.errors and kind not in ("checkboxes", "radios"):
        attrs["class"] = f"{attrs.get('class', existing)} is-invalid".strip()
    if kind in ("checkboxes", "radios"):
        if kind == "checkboxes" and bound_field.errors:
            attrs["aria-invalid"] = "true"
        if kind == "radios" and required:
            attrs["required"] = True
        # The group (fieldset) carries the description; each option keeps its own label.
        widget.attrs.update(attrs)
        html = ""
    else:
        if described:
            attrs["aria-describedby"] = described
        if bound_field.errors:
            attrs["aria-invalid"] = "true"
        if required:
            attrs["required"] = True
            attrs["aria-required"] = "true"
        html = bound_field.as_widget(attrs=attrs)
    return {
        "field": bound_field,
        "kind": kind,
        "required": required,
        "help_id": help_id,
        "error_id": error_id,
        "described": described,
        "widget_html": html,
        "stacked": bool(getattr(widget, "stacked", False)),
    }


def form_problems(form: Any) -> list[Problem]:
    """A form's errors, field by field in the form's order, then those of the whole form."""
    problems = []
    for bound_field in form:
        for message in bound_field.errors:
            problems.append(Problem(field_target(bound_field), str(message)))
    problems += [Problem("", str(m)) for m in form.non_field_errors()]
    return problems
