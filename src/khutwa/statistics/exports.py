"""A table as CSV for spreadsheets: UTF-8 with a byte-order mark (Excel reads the Arabic), a
header row in the page's language, both names of each row, plain numbers (no grouping; amounts
with 3 decimals), and cells that a spreadsheet would run as a formula prefixed with '."""

from __future__ import annotations

import csv
import io

from django.utils import translation
from django.utils.translation import gettext as _

from khutwa.statistics.tables import Number, Table

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """OWASP's advice: a cell starting like a formula is prefixed with ' so it stays text."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _number(value: Number, kind: str) -> str:
    if value is None:
        return _("fewer than 5")
    if kind == "money":
        return f"{value:.3f}"
    return str(value)


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [_("Code"), _("Arabic name"), _("English name"), *(_text(c.label) for c in table.columns)]
    )
    for row in table.rows:
        names = (row.ar, row.en)
        if row.month:
            with translation.override("ar"):
                arabic = row.label
            with translation.override("en"):
                names = (arabic, row.label)
        writer.writerow(
            [
                _text(row.key),
                _text(names[0]),
                _text(names[1]),
                *(_number(v, c.kind) for v, c in zip(row.cells, table.columns, strict=True)),
            ]
        )
    if table.totals is not None:
        writer.writerow(
            [
                "total",
                _("Total"),
                _("Total"),
                *(
                    "" if c.kind not in ("count", "money") else _number(v, c.kind)
                    for v, c in zip(table.totals, table.columns, strict=True)
                ),
            ]
        )
    return "\ufeff" + out.getvalue()
