"""The information centre's public figures (the statistics page's, with the same suppression)."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from ninja import Router, Schema

from khutwa.config.routers import replica_read
from khutwa.statistics import selectors
from khutwa.statistics.tables import THRESHOLD, Number, Table

router = Router(tags=["statistics"])


class ColumnOut(Schema):
    key: str
    name_ar: str
    name_en: str
    kind: str


class RowOut(Schema):
    key: str
    name_ar: str
    name_en: str
    month: str | None
    values: dict[str, int | str | None]


class TableOut(Schema):
    key: str
    title_ar: str
    title_en: str
    columns: list[ColumnOut]
    rows: list[RowOut]
    totals: dict[str, int | str | None] | None


class StatisticsOut(Schema):
    period_from: str
    period_to: str
    computed_at: str
    threshold: int
    tables: list[TableOut]


def _value(value: Number, kind: str) -> int | str | None:
    if value is None:
        return None
    if kind == "money":
        return f"{value:.3f}"
    if isinstance(value, Decimal) and value != value.to_integral_value():
        return str(value)
    return int(value)


def _values(cells: tuple[Number, ...], table: Table) -> dict[str, int | str | None]:
    return {c.key: _value(v, c.kind) for v, c in zip(cells, table.columns, strict=True)}


def _table(table: Table) -> TableOut:
    title_ar, title_en = selectors.both_languages(selectors.TITLES[table.key])
    return TableOut(
        key=table.key,
        title_ar=title_ar,
        title_en=title_en,
        columns=[ColumnOut(key=c.key, name_ar=c.ar, name_en=c.en, kind=c.kind) for c in table.columns],
        rows=[
            RowOut(
                key=row.key,
                name_ar=row.ar,
                name_en=row.en,
                month=row.month.strftime("%Y-%m") if row.month else None,
                values=_values(row.cells, table),
            )
            for row in table.rows
        ],
        totals=_values(table.totals, table) if table.totals is not None else None,
    )


@router.get(
    "",
    response=StatisticsOut,
    auth=None,
    summary="Public statistics: applications, licences, service times, documents and support",
    description=(
        "The figures of the public statistics page, cached for a few minutes. A value of `null` "
        f'is a count from 1 to {THRESHOLD - 1} ("fewer than {THRESHOLD}"), or a figure hidden so '
        "that such a count cannot be worked out from the totals, or an amount, median or share "
        "resting on a hidden count. Counts are integers, amounts strings with 3 decimals (BHD), "
        "shares percentages. Months are `YYYY-MM` (Asia/Bahrain)."
    ),
)
@replica_read
def statistics(request: HttpRequest) -> StatisticsOut:
    figures = selectors.statistics_public()
    return StatisticsOut(
        period_from=figures.period_from.isoformat(),
        period_to=figures.period_to.isoformat(),
        computed_at=figures.computed_at.isoformat(),
        threshold=THRESHOLD,
        tables=[_table(t) for t in figures.tables],
    )
