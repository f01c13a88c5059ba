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

from khutwa.db_triggers import TriggerSet

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


TRIGGERS = TriggerSet(TABLES, _pg_install, _pg_remove, _sqlite_triggers, _pg_trigger_names)
triggers_install = TRIGGERS.install
triggers_remove = TRIGGERS.remove
triggers_suspend = TRIGGERS.suspend
triggers_resume = TRIGGERS.resume
triggers_missing = TRIGGERS.missing
