"""The SVG charts: accessible (role, title, description), numbers grouped, suppressed cells
said in words, and mirrored on right-to-left pages."""

from __future__ import annotations

import re

from django.utils import translation

from khutwa.statistics.charts import LABEL_WIDTH, WIDTH, bars
from khutwa.statistics.tables import Column, Row, Table

TABLE = Table(
    key="licences_by_tier",
    columns=(Column(key="count", ar="التراخيص", en="Licences"),),
    rows=(
        Row(key="basic", ar="أساسية", en="Basic", cells=(12345,)),
        Row(key="standard", ar="قياسية", en="Standard", cells=(None,)),
    ),
)


def rect_x(svg: str) -> tuple[float, float]:
    match = re.search(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)"', svg)
    assert match
    return float(match.group(1)), float(match.group(2))


def test_bars_are_accessible_and_show_grouped_numbers():
    with translation.override("en"):
        svg = str(bars(TABLE, "count", "Licences in force by tier", "The table below has the figures."))

    assert (
        'role="img"' in svg
        and 'aria-labelledby="chart-licences_by_tier-title chart-licences_by_tier-desc"' in svg
    )
    assert '<title id="chart-licences_by_tier-title">Licences in force by tier</title>' in svg
    assert "12,345" in svg and "fewer than 5" in svg
    assert "style=" not in svg  # the Content-Security-Policy allows no inline style


def test_bars_grow_from_the_right_on_arabic_pages():
    with translation.override("en"):
        x_en, width = rect_x(str(bars(TABLE, "count", "t", "d")))
    with translation.override("ar"):
        x_ar, width_ar = rect_x(str(bars(TABLE, "count", "t", "d")))

    assert x_en == LABEL_WIDTH
    assert width_ar == width and round(x_ar + width_ar, 1) == WIDTH - LABEL_WIDTH
