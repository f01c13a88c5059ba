"""The information centre's statistics (public, suppressed) and the staff dashboards: the
registrar's (the same figures exact, with the backlog) and Tamkeen's (support and budgets).
Each table downloads as CSV (``?csv=<table>``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from khutwa.accounts.roles import Role
from khutwa.config.routers import replica_read
from khutwa.http import download
from khutwa.portal.access import role_required
from khutwa.statistics import selectors
from khutwa.statistics.charts import chart, show
from khutwa.statistics.exports import table_csv
from khutwa.statistics.tables import Table


def _section(table: Table) -> dict[str, Any]:
    title = str(selectors.TITLES[table.key])
    description = _("The same figures are in the table below the chart.")
    return {
        "key": table.key,
        "title": title,
        "chart": chart(table, title, description),
        "columns": [c.label for c in table.columns],
        "rows": [
            (row.label, [show(v, c.kind) for v, c in zip(row.cells, table.columns, strict=True)])
            for row in table.rows
        ],
        "totals": None
        if table.totals is None
        else [
            show(v, c.kind) if c.kind in ("count", "money") else ""
            for v, c in zip(table.totals, table.columns, strict=True)
        ],
        "has_suppressed": bool(table.suppressed),
    }


def _page(request: HttpRequest, template: str, tables: Iterable[Table], **context: Any) -> HttpResponse:
    tables = list(tables)
    wanted = request.GET.get("csv")
    if wanted is not None:
        table = next((t for t in tables if t.key == wanted), None)
        if table is None:
            raise Http404
        return download(table_csv(table), content_type="text/csv; charset=utf-8", filename=f"{table.key}.csv")
    return render(request, template, {"sections": [_section(t) for t in tables], **context})


@replica_read
def statistics(request: HttpRequest) -> HttpResponse:
    figures = selectors.statistics_public()
    return _page(request, "portal/statistics.html", figures.tables, figures=figures, public=True)


@role_required(Role.REGISTRAR)
def statistics_registrar(request: HttpRequest) -> HttpResponse:
    figures = selectors.statistics_figures()
    tables = [*selectors.statistics_registrar(), *figures.tables]
    return _page(
        request, "portal/statistics.html", tables, figures=figures, dashboard=_("Registrar's dashboard")
    )


@role_required(Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE)
def statistics_tamkeen(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "portal/statistics.html",
        selectors.statistics_tamkeen(),
        dashboard=_("Tamkeen's dashboard"),
    )
