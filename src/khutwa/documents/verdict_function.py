"""The public verdict's statement, kept planned on PostgreSQL behind any connection pooler.

PostgreSQL spends four times longer *planning* the verdict's one statement than executing it
(0.68 against 0.17 ms, docs/scaling.md "Issue 14"). Prepared statements keep a plan
(`DB_PREPARE_THRESHOLD`), but the cluster's PgBouncer 1.18 (Debian 12's) passes none from one
transaction to the next. A PL/pgSQL function keeps the plans of its statements in the server
connection, whoever calls it and through any pooler: so each `migrate` (post_migrate) installs
the statement as a function named after the hash of its text, and the public verification calls
that function wherever this process finds it.

A changed statement is a function of another name: a server still running the previous code
calls the previous function, and a database not migrated since the change is read with the
plain statement. Functions of statements no longer in the code stay (a few hundred bytes each)
until `khutwa verdict_functions --prune` drops them, once every server runs the new code.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

PREFIX = "khutwa_verdict_"
_NAME = re.compile(PREFIX + "[0-9a-f]{16}")

_lock = threading.Lock()
#: (database alias, statement) → the call of its function there, or None: the database has none.
_calls: dict[tuple[str, str], str | None] = {}


def function_name(statement: str) -> str:
    """The name of the function that runs `statement`: the same text, the same name."""
    return PREFIX + hashlib.sha256(statement.encode()).hexdigest()[:16]


def function_definition(db: BaseDatabaseWrapper, statement: str, key_type: str) -> str:
    """CREATE FUNCTION for `statement` (one `%s`, the key), returning its columns as the
    statement does: their types are read from the database (the statement run for no row)."""
    if statement.count("%s") != 1 or "%%" in statement or "$khutwa$" in statement:
        raise ValueError("the verdict's statement must take exactly one parameter")
    with db.cursor() as cursor:
        cursor.execute(statement, [None])
        oids = [column.type_code for column in cursor.description]
        cursor.execute(
            "SELECT format_type(t.oid, NULL) FROM unnest(%s::oid[]) WITH ORDINALITY AS t(oid, n) "
            "ORDER BY t.n",
            [oids],
        )
        types = [row[0] for row in cursor.fetchall()]
    columns = ", ".join(f"c_{n} {kind}" for n, kind in enumerate(types))
    body = statement.replace("%s", "p_key")
    return (
        f"CREATE OR REPLACE FUNCTION {function_name(statement)}(p_key {key_type}) "
        f"RETURNS TABLE ({columns}) LANGUAGE plpgsql STABLE AS $khutwa$\n"
        f"#variable_conflict use_column\nBEGIN\nRETURN QUERY {body};\nEND\n$khutwa$"
    )


def install(db: BaseDatabaseWrapper, statement: str, key_type: str) -> str:
    """Create the function for `statement` in `db` (PostgreSQL); returns its name."""
    with db.cursor() as cursor:
        cursor.execute(function_definition(db, statement, key_type))
    forget()
    return function_name(statement)


def installed(db: BaseDatabaseWrapper) -> list[str]:
    """The verdict functions `db` holds (this code's and earlier ones')."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname LIKE %s ORDER BY p.proname",
            [PREFIX + "%"],
        )
        return [row[0] for row in cursor.fetchall() if _NAME.fullmatch(row[0])]


def prune(db: BaseDatabaseWrapper, keep: set[str]) -> list[str]:
    """Drop the verdict functions of statements not in `keep`; returns their names."""
    dropped = [name for name in installed(db) if name not in keep]
    with db.cursor() as cursor:
        for name in dropped:
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}")
    forget()
    return dropped


def call(db: BaseDatabaseWrapper, statement: str) -> str | None:
    """`SELECT * FROM` the statement's function where `db` has it, else None (read the
    statement itself). Looked up once per process and database; after that a dict lookup by the
    statement (the same cached string each time: its hash is Python's, kept on the string)."""
    key = (db.alias, statement)
    try:
        return _calls[key]
    except KeyError:
        pass
    name = function_name(statement)
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname = %s)",
            [name],
        )
        found = bool(cursor.fetchone()[0])
    sql = f"SELECT * FROM {name}(%s)" if found else None  # noqa: S608 - a hex digest's name
    with _lock:
        _calls[key] = sql
    return sql


def forget() -> None:
    """Look the functions up again (after installing or dropping one)."""
    with _lock:
        _calls.clear()


def install_after_migrate(sender: Any, **kwargs: Any) -> None:
    """post_migrate: the verdict's function in every PostgreSQL database migrated (the
    documents app's signal only: once per migrate)."""
    if getattr(sender, "label", None) != "documents":
        return
    from django.db import connections

    from khutwa.documents.verification import verdict_statements

    db = connections[kwargs.get("using", "default")]
    if db.vendor != "postgresql":
        return
    for statement, key_type in verdict_statements(db.vendor):
        install(db, statement, key_type)
