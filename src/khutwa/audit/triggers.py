"""Database triggers that refuse UPDATE, DELETE and TRUNCATE of audit events.

Installed by the migration audit/0002. `triggers_suspend` exists for test databases that
are flushed between tests and for a documented disaster-recovery procedure; a change made
while they are off is still caught by `khutwa audit-verify`.
"""

from __future__ import annotations

from khutwa.db_triggers import TriggerSet

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
TABLES = ("audit_auditevent",)


def _sqlite_triggers() -> dict[str, str]:
    """Trigger name → its CREATE statement."""
    return {
        f"audit_event_no_{op.lower()}": (
            f"CREATE TRIGGER IF NOT EXISTS audit_event_no_{op.lower()} BEFORE {op} ON audit_auditevent "
            f"BEGIN SELECT RAISE(ABORT, 'audit events are append-only: {op} refused'); END;"
        )
        for op in ("UPDATE", "DELETE")
    }


def _pg_trigger_names() -> list[str]:
    return [f"audit_event_no_{op}" for op in ("update", "delete", "truncate")]


TRIGGERS = TriggerSet(TABLES, lambda: PG_INSTALL, lambda: PG_REMOVE, _sqlite_triggers, _pg_trigger_names)
triggers_install = TRIGGERS.install
triggers_remove = TRIGGERS.remove
triggers_suspend = TRIGGERS.suspend
triggers_resume = TRIGGERS.resume
triggers_missing = TRIGGERS.missing
