"""Database triggers that keep the transparency log append-only.

Refused, on SQLite and PostgreSQL: any UPDATE or DELETE (and on PostgreSQL TRUNCATE) of the
log's entries, its stored subtrees, its checkpoints and the witnesses' cosignatures. INSERTs fire
nothing, so the sequencer pays nothing. Not the outbox ``tlog_pending`` (the sequencer deletes
what it moved into the log) nor ``tlog_logstate`` (the sequencer's own row).

Installed by the migration tlog/0005, in the pattern of ``khutwa.documents.triggers``.
``triggers_suspend`` exists for test databases that are flushed between tests and for a
documented disaster-recovery procedure; the log stays checkable with them off: a changed entry
no longer hashes to the root its checkpoints signed, and every monitor holding an earlier
checkpoint sees a rewritten or shrunk log (docs/transparency-log.md).

On SQLite, a migration that rebuilds one of these tables drops its triggers with the old table:
such a migration must end with ``RunPython(triggers_install)``; ``triggers_missing`` names the
missing ones.
"""

from __future__ import annotations

from typing import Any

#: The log's tables whose rows never change once written.
TABLES = ("tlog_entry", "tlog_node", "tlog_checkpoint", "tlog_cosignature")


def _pg_install() -> str:
    statements = [
        """CREATE OR REPLACE FUNCTION tlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the transparency log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;"""
    ]
    for table in TABLES:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tlog_append_only();",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tlog_append_only();",
        ]
    return "\n".join(statements)


def _pg_remove() -> str:
    statements = []
    for table in TABLES:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
        ]
    statements.append("DROP FUNCTION IF EXISTS tlog_append_only();")
    return "\n".join(statements)


def _sqlite_triggers() -> dict[str, str]:
    """Trigger name → its CREATE statement."""
    triggers: dict[str, str] = {}
    for table in TABLES:
        for op in ("UPDATE", "DELETE"):
            name = f"{table}_no_{op.lower()}"
            message = f"the transparency log is append-only: {op} on {table} refused"
            triggers[name] = (
                f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            )
    return triggers


def _pg_trigger_names() -> list[str]:
    return [f"{table}_{kind}" for table in TABLES for kind in ("append_only", "no_truncate")]


def _run(connection: Any, statements: str | list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in [statements] if isinstance(statements, str) else statements:
            cursor.execute(statement)


def triggers_install(connection: Any) -> None:
    """Create (or re-create) every trigger; safe to run again."""
    if connection.vendor == "postgresql":
        _run(connection, _pg_install())
    elif connection.vendor == "sqlite":
        _run(connection, list(_sqlite_triggers().values()))


def triggers_remove(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, _pg_remove())
    elif connection.vendor == "sqlite":
        _run(connection, [f"DROP TRIGGER IF EXISTS {name};" for name in _sqlite_triggers()])


def _pg_alter(connection: Any, action: str) -> None:
    # Inside a transaction that wrote rows, PostgreSQL refuses ALTER TABLE while deferred
    # foreign-key checks are pending: run them first, then defer again.
    statements = [f"ALTER TABLE {table} {action} TRIGGER USER" for table in TABLES]
    if connection.in_atomic_block:
        statements = ["SET CONSTRAINTS ALL IMMEDIATE", *statements, "SET CONSTRAINTS ALL DEFERRED"]
    _run(connection, statements)


def triggers_suspend(connection: Any) -> None:
    """Switch the triggers off (PostgreSQL: disabled; SQLite: dropped until reinstalled)."""
    if connection.vendor == "postgresql":
        _pg_alter(connection, "DISABLE")
    elif connection.vendor == "sqlite":
        triggers_remove(connection)


def triggers_resume(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _pg_alter(connection, "ENABLE")
    elif connection.vendor == "sqlite":
        triggers_install(connection)


def triggers_missing(connection: Any) -> list[str]:
    """The triggers that are not installed, or (PostgreSQL) installed but disabled."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relname = ANY(%s)",
                [list(TABLES)],
            )
            present = {name for (name,) in cursor.fetchall()}
            return [name for name in _pg_trigger_names() if name not in present]
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            present = {name for (name,) in cursor.fetchall()}
            return [name for name in _sqlite_triggers() if name not in present]
    return []
