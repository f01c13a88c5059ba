"""The figures' shape (pure, no queries): a table of labelled rows and columns, each cell a
number or ``None`` ("fewer than 5", suppressed). Everything is plain data in both languages,
so that a table is cached once and rendered in either language, as a chart, a table, CSV or
JSON."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from django.utils import formats
from django.utils.translation import get_language

#: Cells under this (and above 0) are never published.
THRESHOLD = 5

Kind = Literal["count", "days", "percent", "money"]
Number = int | Decimal | None


def _pick(ar: str, en: str) -> str:
    if (get_language() or "ar").startswith("en"):
        return en or ar
    return ar or en


@dataclass(frozen=True)
class Column:
    key: str
    ar: str
    en: str
    kind: Kind = "count"
    #: A count that is the sum of the other count columns of its row (the row's total).
    is_total: bool = False
    #: Columns whose value this one derives from: suppressed whenever one of them is.
    follows: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        return _pick(self.ar, self.en)


@dataclass(frozen=True)
class Row:
    key: str
    ar: str = ""
    en: str = ""
    cells: tuple[Number, ...] = ()
    #: A month row: its label is the month in the page's language.
    month: dt.date | None = None

    @property
    def label(self) -> str:
        if self.month is not None:
            return str(formats.date_format(self.month, "YEAR_MONTH_FORMAT"))
        return _pick(self.ar, self.en)


@dataclass(frozen=True)
class Table:
    key: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    #: The column sums (counts and money; None where a column is not summed).
    totals: tuple[Number, ...] | None = None
    suppressed: frozenset[tuple[int, int]] = field(default_factory=frozenset)

    def cell(self, row: int, column: int) -> Number:
        return self.rows[row].cells[column]

    def column_values(self, column: int) -> list[Number]:
        return [row.cells[column] for row in self.rows]


def money(value: Decimal | None) -> Decimal:
    return (value or Decimal("0")).quantize(Decimal("0.001"))


def with_totals(table: Table) -> Table:
    """The table with its totals row: each count and money column summed."""
    totals: list[Number] = []
    for index, column in enumerate(table.columns):
        if column.kind in ("count", "money"):
            values = [v for v in table.column_values(index) if v is not None]
            totals.append(sum(values, Decimal("0") if column.kind == "money" else 0))
        else:
            totals.append(None)
    return replace(table, totals=tuple(totals))
