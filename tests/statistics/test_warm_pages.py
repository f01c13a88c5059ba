"""The statistics pages' warm path: the charts and tables are rendered once per language and
figures (the cache entry's stamp), not on every request; new figures are rendered afresh."""

from __future__ import annotations

import pytest

from khutwa.portal import views_statistics
from khutwa.statistics import selectors


@pytest.fixture
def charts_drawn(monkeypatch):
    drawn: list[str] = []
    real = views_statistics.chart

    def counting(table, title, description):  # type: ignore[no-untyped-def]
        drawn.append(table.key)
        return real(table, title, description)

    monkeypatch.setattr(views_statistics, "chart", counting)
    monkeypatch.setattr(views_statistics, "_fragments", {})
    return drawn


def test_a_warm_page_reuses_its_rendered_charts_per_language(client, dataset, charts_drawn):
    first = client.get("/en/statistics/").content.decode()
    drawn_once = len(charts_drawn)
    again = client.get("/en/statistics/").content.decode()

    assert drawn_once >= 8
    assert len(charts_drawn) == drawn_once
    sections = 'aria-label="Figures on this page"'
    assert again[again.index(sections) :] == first[first.index(sections) :]
    arabic = client.get("/ar/statistics/").content.decode()
    assert len(charts_drawn) == 2 * drawn_once
    assert 'lang="ar"' in arabic and arabic.count('role="img"') == first.count('role="img"')


def test_new_figures_are_rendered_afresh(client, dataset, charts_drawn):
    client.get("/en/statistics/")
    drawn_once = len(charts_drawn)

    selectors.statistics_refresh()
    client.get("/en/statistics/")

    assert len(charts_drawn) == 2 * drawn_once


def test_dashboards_keep_their_own_fragments(client, dataset, charts_drawn, make_user):
    from khutwa.accounts.roles import Role

    client.force_login(make_user(Role.REGISTRAR))
    registrar = client.get("/en/registrar/statistics/").content.decode()
    public = client.get("/en/statistics/").content.decode()

    assert 'id="backlog_by_body"' in registrar and 'id="backlog_by_body"' not in public
    assert registrar.count("<table") > public.count("<table")
