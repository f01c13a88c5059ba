"""Suppression (pure): no published count from 1 to 4, and no hidden count that the published
totals give away."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from khutwa.statistics.suppression import suppress
from khutwa.statistics.tables import Column, Row, Table, with_totals


def month_table(grid: list[list[int]]) -> Table:
    parts = [Column(key=f"c{i}", ar=f"ع{i}", en=f"c{i}") for i in range(len(grid[0]))]
    columns = (*parts, Column(key="total", ar="المجموع", en="Total", is_total=True))
    rows = tuple(Row(key=f"r{r}", cells=(*cells, sum(cells))) for r, cells in enumerate(grid))
    return with_totals(Table(key="t", columns=columns, rows=rows))


def sums(table: Table) -> list[tuple[list, object]]:
    """Every published sum: (its parts, its total), as published."""
    parts = [i for i, c in enumerate(table.columns) if not c.is_total]
    total = len(table.columns) - 1
    grid = [list(row.cells) for row in table.rows] + [list(table.totals or ())]
    out = [([cells[c] for c in parts], cells[total]) for cells in grid]
    out += [([cells[c] for cells in grid[:-1]], grid[-1][c]) for c in range(len(table.columns))]
    return out


def test_a_small_cell_and_the_cell_that_would_give_it_away_are_hidden():
    table = suppress(month_table([[3, 7], [10, 20]]))

    assert table.rows[0].cells == (None, None, 10)
    # Column 0: 13 published as total, the 3 hidden → the 10 below is hidden too; and so on.
    for parts, total in sums(table):
        assert sum(1 for v in [*parts, total] if v is None) != 1


def test_zero_is_published():
    table = suppress(month_table([[0, 7], [10, 20]]))
    assert table.rows[0].cells == (0, 7, 7)
    assert not table.suppressed


def test_derived_figures_go_with_their_count():
    columns = (
        Column(key="n", ar="ن", en="n"),
        Column(key="median", ar="وسيط", en="median", kind="days", follows=(0,)),
    )
    table = suppress(
        Table(key="d", columns=columns, rows=(Row(key="a", cells=(4, 12)), Row(key="b", cells=(9, 3))))
    )
    assert table.rows[0].cells == (None, None)
    assert table.rows[1].cells == (9, 3)  # a median of 3 days is not a count


@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=30), min_size=2, max_size=5),
        min_size=1,
        max_size=6,
    ).filter(lambda g: len({len(r) for r in g}) == 1)
)
def test_no_small_count_published_and_no_sum_gives_one_hidden_cell_away(grid):
    table = suppress(month_table(grid))

    published = [v for row in table.rows for v in row.cells] + list(table.totals or ())
    assert all(v is None or v == 0 or v >= 5 for v in published)
    for parts, total in sums(table):
        hidden = sum(1 for v in [*parts, total] if v is None)
        assert hidden != 1
    # Published cells are the true ones.
    original = month_table(grid)
    for row, true_row in zip(table.rows, original.rows, strict=True):
        assert all(v is None or v == t for v, t in zip(row.cells, true_row.cells, strict=True))
