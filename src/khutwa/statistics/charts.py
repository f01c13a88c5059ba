"""Charts as inline SVG, drawn on the server (no script): each with role="img", a title and a
description, and always shown next to the table it draws (the table is the accessible form).

Right-to-left pages get mirrored charts: bars grow from the right, labels on the right.
Sizes are SVG attributes (no style attribute: the Content-Security-Policy forbids inline style).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _

from khutwa.statistics.tables import Number, Table

#: Fills with at least 3:1 contrast against white (WCAG 1.4.11, graphics), told apart by the
#: table beside the chart rather than by colour alone.
PALETTE = ("#1F5F8B", "#CE1126", "#2E7D32", "#8A5A00", "#6A3D9A", "#4D4D4D", "#00838F", "#AD1457")
WIDTH = 640
LABEL_WIDTH = 190
VALUE_WIDTH = 110
BAR_HEIGHT = 18
ROW_HEIGHT = 26
TOP = 8

#: Which chart draws which table: a stacked bar per row (its parts), or one bar per row.
CHARTS: dict[str, tuple[str, str]] = {
    "applications_by_month": ("stacked", ""),
    "applications_by_activity": ("bars", "count"),
    "applications_by_governorate": ("bars", "count"),
    "licences_by_tier": ("bars", "count"),
    "working_days_by_body": ("bars", "median"),
    "reviews_within_sla": ("bars", "share"),
    "documents_by_month": ("stacked", ""),
    "support_by_programme": ("bars", "approved_amount"),
    "backlog_by_body": ("bars", "open"),
    "waiting_by_stage": ("bars", "count"),
    "programme_budgets": ("bars", "used"),
}


def show(value: Number, kind: str = "count") -> str:
    """A figure as text in the page's language (grouped), or "fewer than 5"."""
    if value is None:
        return _("fewer than 5") if kind == "count" else _("not shown")
    if kind == "money":
        return str(number_format(value, 3, force_grouping=True))
    if kind == "percent" and isinstance(value, Decimal) and value != value.to_integral_value():
        return str(number_format(value, 1, force_grouping=True))
    return str(number_format(int(value), 0, force_grouping=True))


def _short(label: str, length: int = 26) -> str:
    """A label that fits beside the bars (the table below has it whole)."""
    return label if len(label) <= length else label[: length - 1] + "…"


class _Canvas:
    """Positions: anchors are computed for left-to-right (the SVG sets direction="ltr"), and
    mirrored here for right-to-left pages."""

    def __init__(self, rtl: bool) -> None:
        self.rtl = rtl

    def x(self, x: float, width: float = 0) -> float:
        return WIDTH - x - width if self.rtl else x

    def anchor(self, start: bool) -> str:
        return "start" if start != self.rtl else "end"


def _frame(table: Table, title: str, description: str, height: int, body: SafeString) -> SafeString:
    ident = f"chart-{table.key}"
    return format_html(
        '<svg class="kh-chart w-100 h-auto" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'direction="ltr" aria-labelledby="{i}-title {i}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{i}-title">{t}</title><desc id="{i}-desc">{d}</desc>{b}</svg>',
        w=WIDTH,
        h=height,
        i=ident,
        t=title,
        d=description,
        b=body,
    )


def bars(table: Table, column: str, title: str, description: str) -> SafeString:
    index = next(i for i, c in enumerate(table.columns) if c.key == column)
    kind = table.columns[index].kind
    values = [row.cells[index] for row in table.rows]
    peak = max([float(v) for v in values if v is not None] or [0.0]) or 1.0
    canvas = _Canvas(get_language_bidi())
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = []
    for r, (row, value) in enumerate(zip(table.rows, values, strict=True)):
        y = TOP + r * ROW_HEIGHT
        length = 0.0 if value is None else area * float(value) / peak
        parts.append(
            format_html(
                '<text x="{lx}" y="{ty}" text-anchor="{la}" font-size="13" fill="#212529">{label}</text>'
                '<rect x="{bx}" y="{y}" width="{bw}" height="{bh}" fill="{fill}"/>'
                '<text x="{vx}" y="{ty}" text-anchor="{va}" font-size="13" fill="#212529">{value}</text>',
                lx=canvas.x(LABEL_WIDTH - 8),
                ty=y + 14,
                la=canvas.anchor(False),
                label=_short(row.label),
                bx=round(canvas.x(LABEL_WIDTH, length), 1),
                y=y,
                bw=round(length, 1),
                bh=BAR_HEIGHT,
                fill=PALETTE[0],
                vx=round(canvas.x(LABEL_WIDTH + length + 6), 1),
                va=canvas.anchor(True),
                value=show(value, kind),
            )
        )
    height = TOP * 2 + max(1, len(table.rows)) * ROW_HEIGHT
    return _frame(table, title, description, height, mark_safe("".join(parts)))  # noqa: S308 - built by format_html


def stacked(table: Table, title: str, description: str) -> SafeString:
    """One bar per row made of its parts (the count columns that are not the total)."""
    parts_columns = [i for i, c in enumerate(table.columns) if c.kind == "count" and not c.is_total]
    total_index = next((i for i, c in enumerate(table.columns) if c.is_total), None)

    def row_total(cells: tuple[Number, ...]) -> float:
        return float(sum(int(cells[i] or 0) for i in parts_columns))

    peak = max([row_total(row.cells) for row in table.rows] or [0.0]) or 1.0
    canvas = _Canvas(get_language_bidi())
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    out = []
    for r, row in enumerate(table.rows):
        y = TOP + r * ROW_HEIGHT
        offset = 0.0
        segments = []
        for n, i in enumerate(parts_columns):
            value = row.cells[i]
            if not value:
                continue
            length = area * float(value) / peak
            segments.append(
                format_html(
                    '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{f}"/>',
                    x=round(canvas.x(LABEL_WIDTH + offset, length), 1),
                    y=y,
                    w=round(length, 1),
                    h=BAR_HEIGHT,
                    f=PALETTE[n % len(PALETTE)],
                )
            )
            offset += length
        total = row.cells[total_index] if total_index is not None else None
        out.append(
            format_html(
                '<text x="{lx}" y="{ty}" text-anchor="{la}" font-size="13" fill="#212529">{label}</text>'
                "{segments}"
                '<text x="{vx}" y="{ty}" text-anchor="{va}" font-size="13" fill="#212529">{value}</text>',
                lx=canvas.x(LABEL_WIDTH - 8),
                ty=y + 14,
                la=canvas.anchor(False),
                label=_short(row.label),
                segments=mark_safe("".join(segments)),  # noqa: S308 - built by format_html
                vx=round(canvas.x(LABEL_WIDTH + offset + 6), 1),
                va=canvas.anchor(True),
                value=show(total) if total_index is not None else "",
            )
        )
    height = TOP * 2 + max(1, len(table.rows)) * ROW_HEIGHT
    return _frame(table, title, description, height, mark_safe("".join(out)))  # noqa: S308 - built by format_html


def legend(table: Table) -> SafeString:
    """The colours of a stacked chart's parts (hidden from screen readers: the table says it)."""
    parts_columns = [c for c in table.columns if c.kind == "count" and not c.is_total]
    return format_html(
        '<ul class="list-inline small mb-2" aria-hidden="true">{}</ul>',
        format_html_join(
            "",
            '<li class="list-inline-item"><svg width="12" height="12" viewBox="0 0 12 12">'
            '<rect width="12" height="12" fill="{}"/></svg> {}</li>',
            ((PALETTE[n % len(PALETTE)], c.label) for n, c in enumerate(parts_columns)),
        ),
    )


def chart(table: Table, title: str, description: str) -> SafeString:
    shape, column = CHARTS.get(table.key, ("", ""))
    if shape == "stacked":
        return stacked(table, title, description) + legend(table)
    if shape == "bars":
        return bars(table, column, title, description)
    return SafeString("")
