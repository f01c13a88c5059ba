"""Small cells hidden, and hidden so that they cannot be worked back (pure, no queries).

Primary suppression: a count from 1 to 4 is published as "fewer than 5" (zero is published:
it identifies nobody). Secondary suppression: wherever published numbers add up (the cells of a
row to the row's total column, the cells of a column to the totals row), a sum with exactly one
hidden member would give that member away, so the smallest other non-zero member is hidden
too, until every such sum hides none or at least two of its members. Figures derived from a
count (an amount, a share, a median) are hidden with it (``Column.follows``).
"""

from __future__ import annotations

from dataclasses import replace

from khutwa.statistics.tables import THRESHOLD, Number, Table

Cell = tuple[int, int]


def _relations(table: Table, has_totals_row: bool) -> list[tuple[list[Cell], Cell]]:
    """(parts, total) pairs: the parts add up to the total."""
    counts = [i for i, c in enumerate(table.columns) if c.kind == "count"]
    total_columns = [i for i in counts if table.columns[i].is_total]
    parts_columns = [i for i in counts if not table.columns[i].is_total]
    rows = len(table.rows) + (1 if has_totals_row else 0)
    relations: list[tuple[list[Cell], Cell]] = []
    if total_columns:
        total_column = total_columns[0]
        relations += [([(r, c) for c in parts_columns], (r, total_column)) for r in range(rows)]
    if has_totals_row:
        last = len(table.rows)
        relations += [([(r, c) for r in range(last)], (last, c)) for c in counts]
    return relations


def suppress(table: Table) -> Table:
    """The table as it may be published: hidden cells are None, listed in ``suppressed``."""
    has_totals_row = table.totals is not None
    grid: list[list[Number]] = [list(row.cells) for row in table.rows]
    if table.totals is not None:
        grid.append(list(table.totals))

    def value(cell: Cell) -> int:
        v = grid[cell[0]][cell[1]]
        return int(v) if v is not None else 0

    hidden: set[Cell] = set()
    for r, cells in enumerate(grid):
        for c, column in enumerate(table.columns):
            if column.kind == "count" and cells[c] is not None and 0 < value((r, c)) < THRESHOLD:
                hidden.add((r, c))

    relations = _relations(table, has_totals_row)
    member_of: dict[Cell, list[list[Cell]]] = {}
    for parts, total in relations:
        for m in (*parts, total):
            member_of.setdefault(m, []).append([*parts, total])

    def exposed(members: list[Cell]) -> bool:
        return sum(1 for m in members if m in hidden) == 1

    def preference(m: Cell, current: list[Cell]) -> tuple[int, int, Cell]:
        # First a cell whose hiding also protects another exposed sum, then the smallest.
        others = [r for r in member_of.get(m, []) if r != current]
        return (0 if any(exposed(other) for other in others) else 1, value(m), m)

    changed = True
    while changed:
        changed = False
        for parts, total in relations:
            members = [*parts, total]
            if not exposed(members):
                continue
            candidates = sorted(
                (m for m in parts if m not in hidden and value(m) > 0),
                key=lambda m, members=members: preference(m, members),  # type: ignore[misc]
            )
            if not candidates and total not in hidden and value(total) > 0:
                candidates = [total]
            if candidates:
                hidden.add(candidates[0])
                changed = True

    # Derived figures go with the counts they come from (repeated: one may follow another).
    changed = True
    while changed:
        changed = False
        for c, column in enumerate(table.columns):
            for r in range(len(grid)):
                if (r, c) not in hidden and any((r, f) in hidden for f in column.follows):
                    hidden.add((r, c))
                    changed = True

    for r, c in hidden:
        grid[r][c] = None
    rows = tuple(replace(row, cells=tuple(grid[r])) for r, row in enumerate(table.rows))
    totals = tuple(grid[-1]) if has_totals_row else None
    return replace(table, rows=rows, totals=totals, suppressed=frozenset(hidden))
