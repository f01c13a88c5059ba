"""INSERT statements built once per process, for the hot write paths (issuing, issue 13).

Through the ORM an INSERT of one row compiles its SQL every time (the compiler walks every field,
quotes every name, asks the router, sends the signals...), which cost more than the database's
work on the issuing path. Here the SQL of (model, fields, number of rows) is built once, and each
value goes through its field's `get_db_prep_save`, as the ORM's INSERT does, so that what is
stored is what the ORM would store (dates, decimals, JSON, UUIDs on either engine); texts and
whole numbers, which that leaves unchanged, are passed as they are.

Only for plain INSERTs of values the caller has already checked: no `pre_save` (auto_now fields
are given explicitly), no signals (none is connected to these models), no savepoint.

Writes whose answer nobody waits for can be sent `together()`: on PostgreSQL as the parts of one
statement (a data-modifying `WITH`), one round trip instead of one each; on SQLite, which has no
round trips, one after another.

The statements go to the driver's own cursor (`run`) when nothing watches the queries: Django's
cursor wrapper (a new wrapper per cursor, the placeholders rewritten for SQLite by a regular
expression at every call, the thread and wrapper checks) cost about as much as SQLite's own work
for these short statements. Errors are still turned into Django's (`wrap_database_errors`), a
broken transaction is still refused, and when queries are logged (DEBUG, the test suite's
`django_assert_num_queries`, `CaptureQueriesContext`) or an execute wrapper is installed, the
statements go through Django's cursor as before, so that they are counted and seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models

#: Fields whose `get_db_prep_save` returns a value of the field's own type unchanged (a text, a
#: whole number, a truth value): these values are passed as they are.
_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField)


@cache
def _fields(model: type[models.Model], names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(model._meta.get_field(name) for name in names)


def _is_plain(field: Any) -> bool:
    if isinstance(field, models.ForeignKey):
        return _is_plain(field.target_field)
    return isinstance(field, _PLAIN) and type(field).get_db_prep_save is models.Field.get_db_prep_save


class _DecimalPrep:
    """A DecimalField's `get_db_prep_save` for a finite `Decimal`: the value itself, which is what
    Django's returns for one (`to_python` makes `Decimal(value)`, an equal Decimal with the same
    digits, and no backend adapts decimals further); anything else goes to the field (a tenth of
    an issue's value preparation: every amount of the document and of each line)."""

    __slots__ = ("field",)

    def __init__(self, field: Any) -> None:
        self.field = field

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        if type(value) is Decimal and value.is_finite():
            return value
        return self.field.get_db_prep_save(value, connection)


def _preparer(field: Any) -> Any:
    if _is_plain(field):
        return None
    if type(field) is models.DecimalField:
        return _DecimalPrep(field)
    return field


@cache
def _converted(model: type[models.Model], names: tuple[str, ...]) -> tuple[Any, ...]:
    """Per field, None when its values pass as they are, else what prepares them
    (`get_db_prep_save`: the field's, or `_DecimalPrep`'s)."""
    return tuple(_preparer(f) for f in _fields(model, names))


@cache
def insert_sql(
    model: type[models.Model], names: tuple[str, ...], rows: int, returning: bool, vendor: str
) -> str:
    """`INSERT INTO <table> (<columns>) VALUES (...), ... [RETURNING id]` for `rows` rows."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name  # the same for every connection of `vendor`
    columns = ", ".join(quote(f.column) for f in _fields(model, names))
    one = "(" + ", ".join(["%s"] * len(names)) + ")"
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([one] * rows)}"  # noqa: S608
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql


_FORMAT = re.compile(r"(?<!%)%s")


@lru_cache(maxsize=256)
def _qmark(sql: str) -> str:
    """SQLite's spelling of a statement written with `%s` (what Django's SQLite cursor does at
    every call, once per statement here)."""
    return _FORMAT.sub("?", sql).replace("%%", "%")


def run(sql: str, params: Sequence[Any], *, fetch: bool = False) -> list[tuple[Any, ...]] | None:
    """Execute one statement (written with `%s` placeholders) on the default database in the
    current transaction; its rows when `fetch`. Through the driver's cursor unless queries are
    watched (see the module's docstring)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.queries_logged or connection.execute_wrappers or connection.connection is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else None
    connection.validate_no_broken_transaction()
    if connection.vendor == "sqlite":
        sql = _qmark(sql)
    with connection.wrap_database_errors:
        # PostgreSQL: Django's own cursor factory (it sets the time zone of timestamps read when
        # the connection's differs), without its wrapper.
        cursor = (
            connection.connection.cursor() if connection.vendor == "sqlite" else connection.create_cursor()
        )
        try:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else None
        finally:
            cursor.close()


#: The writes of the innermost `together()` block, not yet sent.
_queued: ContextVar[list[tuple[str, list[Any]]] | None] = ContextVar("prebuilt_queued", default=None)


@contextmanager
def together() -> Iterator[None]:
    """Send the writes made inside that need no answer (`execute`, `insert_values` without
    `returning`) at the end of the block, in order; on PostgreSQL as one statement whose parts
    all see the database as it was before it: no write of the block may depend on another of
    the block (a row written before the block may be referred to). An error drops them (the
    caller's transaction is rolled back anyway). Nested blocks are the outer one."""
    if _queued.get() is not None:
        yield
        return
    token = _queued.set([])
    try:
        yield
        statements = _queued.get() or []
    finally:
        _queued.reset(token)
    _send(statements)


def is_together() -> bool:
    return _queued.get() is not None


def flush() -> None:
    """Send what the current `together()` block holds now (before a read that needs it)."""
    statements = _queued.get()
    if statements:
        _send(list(statements))
        statements.clear()


def _send(statements: list[tuple[str, list[Any]]]) -> None:
    if not statements:
        return
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql" and len(statements) > 1:
        run(_with_sql(tuple(sql for sql, _params in statements)), [p for _sql, ps in statements for p in ps])
        return
    for sql, params in statements:
        run(sql, params)


@lru_cache(maxsize=64)
def _with_sql(statements: tuple[str, ...]) -> str:
    """PostgreSQL: the statements as the parts of one data-modifying `WITH`."""
    parts = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(statements[:-1]))
    return f"WITH {parts} {statements[-1]}"


def execute(sql: str, params: list[Any]) -> None:
    """Run a write that returns nothing, or queue it in the current `together()` block."""
    statements = _queued.get()
    if statements is not None:
        statements.append((sql, params))
        return
    run(sql, params)


def _same(text: str) -> str:
    return text


class JsonText:
    """The value of a JSON field already encoded as JSON text (for a documents payload, the
    canonical JSON its seal hashed): stored as it is instead of being encoded again. The text
    must be one JSON value; what is read back is `json.loads(text)` on either engine."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def db_value(self, connection: Any) -> Any:
        if connection.vendor == "postgresql":
            from psycopg.types.json import Jsonb  # only with PostgreSQL's driver

            return Jsonb(self.text, dumps=_same)  # as Django's adapt_json_value, already dumped
        return self.text


def insert_values(
    model: type[models.Model],
    names: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = False,
) -> int | None:
    """Insert `rows` (values in the order of `names`: attnames, `licence_id` for a foreign key)
    in one statement on the default database; the first row's id when `returning`."""
    connection = connections[DEFAULT_DB_ALIAS]
    converted = _converted(model, names)
    params: list[Any] = []
    for row in rows:
        params += [
            value
            if field is None
            else value.db_value(connection)
            if type(value) is JsonText
            else field.get_db_prep_save(value, connection)
            for field, value in zip(converted, row, strict=True)
        ]
    sql = insert_sql(model, names, len(rows), returning, connection.vendor)
    if not returning:
        execute(sql, params)
        return None
    found = run(sql, params, fetch=True)
    assert found  # noqa: S101 - an INSERT … RETURNING returns its row
    return int(found[0][0])


def insert_instance(obj: models.Model, names: tuple[str, ...], stored: dict[str, Any] | None = None) -> None:
    """INSERT the instance's `names` (attnames) in one prebuilt statement and set its id, as
    `save(force_insert=True)` would (the instance is then saved, not adding). `stored` gives,
    for some names, the value to store instead of the attribute (a `JsonText` of it)."""
    stored = stored or {}
    row = [stored[name] if name in stored else getattr(obj, name) for name in names]
    obj.pk = insert_values(type(obj), names, [row], returning=True)
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS
