"""Keyset pagination for lists that go deep (100,000 applications): a page is the rows after (or
before) the last row seen, in a total order that ends with the primary key, read as one index
range with a LIMIT. No OFFSET, and no COUNT(*) of the whole list.

The cursor is the ordering values of the row a page starts after (or ends before), as URL-safe
base64 of JSON. It only narrows the caller's own queryset, so a forged one shows nothing the
caller could not see anyway; one that does not decode is refused (``BadCursor``), and the view
shows the first page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections, router
from django.db.models import F, Field, Func, Model, Q, QuerySet, Value
from django.db.models.lookups import GreaterThan, LessThan

_K = TypeVar("_K")


class BadCursor(ValueError):
    """A cursor that does not decode into the list's ordering values."""


def _fields(order: Sequence[str]) -> tuple[list[str], bool]:
    names = [name.lstrip("-") for name in order]
    descending = {name.startswith("-") for name in order}
    if len(descending) != 1:
        raise ValueError("keyset ordering must go one way")
    return names, descending.pop()


def cursor_encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if hasattr(v, "isoformat") else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(model: type[Model], names: Sequence[str], cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc
    if not isinstance(plain, list) or len(plain) != len(names):
        raise BadCursor(cursor)
    values = []
    for name, value in zip(names, plain, strict=True):
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise BadCursor(cursor)
        try:
            typed = model._meta.get_field(name).to_python(value)  # type: ignore[union-attr]
        except (FieldDoesNotExist, ValidationError, TypeError, ValueError, OverflowError) as exc:
            raise BadCursor(cursor) from exc
        if typed is None:
            raise BadCursor(cursor)
        values.append(typed)
    return values


def _beyond(names: Sequence[str], values: Sequence[Any], *, forward: bool, vendor: str = "") -> Q:
    """Rows strictly beyond `values` in the (lexicographic) order of `names`, written as
    ``a >= x AND (a > x OR <the rest beyond>)``: the leading bound is an index range. On
    PostgreSQL, ``row_beyond`` (the rest as one row comparison)."""
    gt, ge = ("gt", "gte") if forward else ("lt", "lte")
    head, value = names[0], values[0]
    if len(names) == 1:
        return Q(**{f"{head}__{gt}": value})
    if vendor == "postgresql":
        return row_beyond(names, values, forward=forward)
    return Q(**{f"{head}__{ge}": value}) & (
        Q(**{f"{head}__{gt}": value}) | _beyond(names[1:], values[1:], forward=forward)
    )


class _Row(Func):
    """``(a, b, …)``: a row of columns or of values."""

    function = ""
    template = "(%(expressions)s)"
    output_field = Field()


def row_beyond(names: Sequence[str], values: Sequence[Any], *, forward: bool) -> Q:
    """PostgreSQL: rows strictly beyond `values` in the order of `names`, written as
    ``a >= x AND (a, b) > (x, y)`` (``<=``, ``<`` when not `forward`). Its b-tree takes the row
    comparison as the start of the range on every column of an index over `names` in this order
    (after the columns the query fixes with ``=``); the ``a > x OR (a = x AND b > y)`` form only
    bounds the first, or nothing, and deep in a list every row before the cursor's (all of its
    day, for a date) was read and thrown away. (SQLite's planner bounds a range by the leading
    ``a >= x`` of ``_beyond``'s form and runs its OR on the index entries.)"""
    columns = _Row(*(F(name) for name in names))
    bounds = _Row(*(Value(value) for value in values))
    head, value = names[0], values[0]
    if forward:
        return Q(**{f"{head}__gte": value}) & Q(GreaterThan(columns, bounds))
    return Q(**{f"{head}__lte": value}) & Q(LessThan(columns, bounds))


@dataclass
class KeysetPage:
    """One page: its rows, and the cursors of the pages next to it (None: there is none)."""

    items: list[Any]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    is_first: bool = True
    names: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def keyset_page(
    queryset: QuerySet[Any],
    order: Sequence[str],
    *,
    after: str = "",
    before: str = "",
    size: int = 25,
) -> KeysetPage:
    """The page of `queryset` in `order` (which must end with a unique field, e.g. ``id``)
    after the cursor `after`, or before `before`, or the first page. Raises BadCursor."""
    names, descending = _fields(order)
    model = queryset.model
    backwards = bool(before) and not after
    cursor = after or before
    qs = queryset
    if cursor:
        values = cursor_decode(model, names, cursor)
        # Beyond the cursor in column terms: greater when reading ascending.
        vendor = connections[router.db_for_read(model)].vendor
        qs = qs.filter(_beyond(names, values, forward=descending == backwards, vendor=vendor))
    reading = [(n if descending == backwards else f"-{n}") for n in names]
    rows = list(qs.order_by(*reading)[: size + 1])
    more = len(rows) > size
    if cursor and not rows:
        # Nothing beyond the cursor (those rows left the list meanwhile): the first page.
        return keyset_page(queryset, order, size=size)
    rows = rows[:size]
    if backwards:
        rows.reverse()

    def key(row: Any) -> str:
        # A model instance, or a dict of a values() queryset (which must read the ordering's columns).
        if isinstance(row, dict):
            return cursor_encode([row[n] for n in names])
        return cursor_encode([getattr(row, n) for n in names])

    page = KeysetPage(items=rows, names=names, is_first=not cursor or (backwards and not more))
    if rows and backwards:
        page.next_cursor = key(rows[-1])
        page.previous_cursor = key(rows[0]) if more else None
    elif rows:
        page.next_cursor = key(rows[-1]) if more else None
        page.previous_cursor = key(rows[0]) if cursor else None
    return page


def _capped_statement(querysets: Mapping[Any, QuerySet[Any]], cap: int) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for i, qs in enumerate(querysets.values()):
        sql, part_params = qs.order_by().values("pk")[: cap + 1].query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped{i})")  # noqa: S608 - compiled by the ORM
        params.extend(part_params)
    return "SELECT " + ", ".join(parts), params


def _run(alias: str, sql: str, params: Sequence[Any]) -> tuple[Any, ...]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return tuple(cursor.fetchone())


def count_capped(querysets: Mapping[_K, QuerySet[Any]], cap: int) -> dict[_K, int]:
    """How many rows each queryset has, counting no further than cap + 1 (an index range of at
    most cap + 1 entries; a value above `cap` reads "more than cap"), all in one query."""
    if not querysets:
        return {}
    sql, params = _capped_statement(querysets, cap)
    row = _run(router.db_for_read(next(iter(querysets.values())).model), sql, params)
    return dict(zip(querysets, (int(n) for n in row), strict=True))


#: Statements of count_capped_once by (key, cap, database alias): a few per process (the pages'
#: count sets; `key` names everything the querysets depend on, e.g. the day and the bodies).
_STATEMENTS: dict[Hashable, tuple[list[Any], str, list[Any]]] = {}
_STATEMENTS_KEPT = 64


def count_capped_once(
    key: Hashable, model: type[Model], build: Callable[[], Mapping[_K, QuerySet[Any]]], cap: int
) -> dict[_K, int]:
    """count_capped for counts whose querysets (from `build`, over `model`) depend on nothing but
    `key`: the ORM builds and compiles them once per key, cap and database, and each request
    only runs the statement (building a page's ten querysets cost more than counting them)."""
    alias = router.db_for_read(model)
    memo = (key, cap, alias)
    kept = _STATEMENTS.get(memo)
    if kept is None:
        querysets = build()
        if not querysets:
            return {}
        kept = (list(querysets), *_capped_statement(querysets, cap))
        if len(_STATEMENTS) >= _STATEMENTS_KEPT:
            _STATEMENTS.clear()
        _STATEMENTS[memo] = kept
    names, sql, params = kept
    row = _run(alias, sql, params)
    return dict(zip(names, (int(n) for n in row), strict=True))
