"""The information centre's statistics (public, suppressed) and the staff dashboards: the
registrar's (the same figures exact, with the backlog) and Tamkeen's (support and budgets).
Each table downloads as CSV (``?csv=<table>``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language
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


#: The rendered charts and tables of each page, per language and figures (their cache stamps):
#: the warm path renders them once per process, not on every request. Process-local and small
#: (a few pages × two languages); cleared when it grows past FRAGMENTS_MAX.
_fragments: dict[tuple[Any, ...], SafeString] = {}
FRAGMENTS_MAX = 32


def _sections_html(
    request: HttpRequest, page: str, tables: list[Table], stamps: tuple[Any, ...]
) -> SafeString:
    key = (page, get_language(), *stamps)
    cacheable = None not in stamps
    html = _fragments.get(key) if cacheable else None
    if html is None:
        html = SafeString(
            render_to_string(
                "portal/_statistics_sections.html",
                {"sections": [_section(t) for t in tables]},
                request=request,
            )
        )
        if cacheable:
            if len(_fragments) >= FRAGMENTS_MAX:
                _fragments.clear()
            _fragments[key] = html
    return html


def _page(
    request: HttpRequest,
    template: str,
    tables: Iterable[Table],
    *,
    stamps: tuple[Any, ...],
    **context: Any,
) -> HttpResponse:
    tables = list(tables)
    wanted = request.GET.get("csv")
    if wanted is not None:
        table = next((t for t in tables if t.key == wanted), None)
        if table is None:
            raise Http404
        return download(table_csv(table), content_type="text/csv; charset=utf-8", filename=f"{table.key}.csv")
    sections_html = _sections_html(request, str(context.get("dashboard", "public")), tables, stamps)
    return render(request, template, {"sections_html": sections_html, **context})


@replica_read
def statistics(request: HttpRequest) -> HttpResponse:
    figures = selectors.statistics_public()
    stamps = selectors.statistics_stamp(selectors.PUBLIC_KEY)
    return _page(
        request, "portal/statistics.html", figures.tables, stamps=stamps, figures=figures, public=True
    )


@role_required(Role.REGISTRAR)
def statistics_registrar(request: HttpRequest) -> HttpResponse:
    figures = selectors.statistics_figures()
    tables = [*selectors.statistics_registrar(), *figures.tables]
    stamps = selectors.statistics_stamp(selectors.FIGURES_KEY, selectors.REGISTRAR_KEY)
    return _page(
        request,
        "portal/statistics.html",
        tables,
        stamps=stamps,
        figures=figures,
        dashboard=_("Registrar's dashboard"),
    )


@role_required(Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE)
def statistics_tamkeen(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "portal/statistics.html",
        selectors.statistics_tamkeen(),
        stamps=selectors.statistics_stamp(selectors.TAMKEEN_KEY),
        dashboard=_("Tamkeen's dashboard"),
    )
