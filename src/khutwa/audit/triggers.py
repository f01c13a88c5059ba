"""Database triggers that refuse UPDATE, DELETE and TRUNCATE of audit events.

Installed by the migration audit/0002. `triggers_suspend` exists for test databases that
are flushed between tests and for a documented disaster-recovery procedure; a change made
while they are off is still caught by `khutwa audit-verify`.
"""

from __future__ import annotations

from typing import Any

PG_INSTALL = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_event_no_update ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_no_delete ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS audit_event_no_update ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_no_delete ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""
SQLITE_INSTALL = [
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END;""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
]


def _run(connection: Any, statements: str | list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in [statements] if isinstance(statements, str) else statements:
            cursor.execute(statement)


def triggers_install(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, PG_INSTALL)
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_INSTALL)


def triggers_remove(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, PG_REMOVE)
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_REMOVE)


def triggers_suspend(connection: Any) -> None:
    """Switch the triggers off (PostgreSQL: disabled; SQLite: dropped until reinstalled)."""
    if connection.vendor == "postgresql":
        _run(connection, "ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_REMOVE)


def triggers_resume(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, "ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_INSTALL)
