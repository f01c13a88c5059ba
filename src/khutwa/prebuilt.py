"""INSERT statements built once per process, for the hot write paths (issuing, issue 13).

Through the ORM an INSERT of one row compiles its SQL every time (the compiler walks every field,
quotes every name, asks the router, sends the signals...), which cost more than the database's
work on the issuing path. Here the SQL of (model, fields, number of rows) is built once, and each
value goes through its field's `get_db_prep_save`, as the ORM's INSERT does, so that what is
stored is what the ORM would store (dates, decimals, JSON, UUIDs on either engine); texts and
whole numbers, which that leaves unchanged, are passed as they are.

Only for plain INSERTs of values the caller has already checked: no `pre_save` (auto_now fields
are given explicitly), no signals (none is connected to these models), no savepoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
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


@cache
def _converted(model: type[models.Model], names: tuple[str, ...]) -> tuple[Any, ...]:
    """Per field, None when its values pass as they are, else the field (`get_db_prep_save`)."""
    return tuple(None if _is_plain(f) else f for f in _fields(model, names))


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
            value if field is None else field.get_db_prep_save(value, connection)
            for field, value in zip(converted, row, strict=True)
        ]
    sql = insert_sql(model, names, len(rows), returning, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            return int(cursor.fetchone()[0])
    return None


def insert_instance(obj: models.Model, names: tuple[str, ...]) -> None:
    """INSERT the instance's `names` (attnames) in one prebuilt statement and set its id, as
    `save(force_insert=True)` would (the instance is then saved, not adding)."""
    obj.pk = insert_values(type(obj), names, [[getattr(obj, name) for name in names]], returning=True)
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS
