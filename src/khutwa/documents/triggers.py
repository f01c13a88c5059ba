"""Database triggers that keep issued documents' rows as they were issued.

Refused, on SQLite and PostgreSQL:

- any UPDATE or DELETE (and on PostgreSQL TRUNCATE) of documents, their lines, allocations,
  the delivery-notes link table, quotation responses and rendered PDFs;
- on counters: DELETE (and TRUNCATE); an UPDATE that changes a row's licence, type or year or
  lowers `last`; and an UPDATE of `last_hash` unless it is the chain row's and names the hash
  of the licence's document numbered `last` (what `DocumentCounter.objects.chain_head_record`
  writes). `services._take_numbers` raises `last` and the year's turnover: allowed.

INSERTs fire nothing, and the counter triggers' conditions are plain comparisons of the old
and new row (PostgreSQL evaluates them in the trigger's WHEN, without calling a function), so
issuing pays almost nothing (`docs/architecture.md`, "Issued documents").

Installed by the migration documents/0003. `triggers_suspend` exists for test databases that
are flushed between tests and for a documented disaster-recovery procedure; a row changed
while they are off is still reported by verification and `khutwa documents-verify`.

On SQLite, a migration that rebuilds one of these tables (most `AlterField`s do: new table,
copy, drop, rename) drops its triggers with the old table: such a migration must end with
`RunPython(triggers_install)`. `triggers_missing` names the missing ones, and
`khutwa documents-verify` warns about them.
"""

from __future__ import annotations

from khutwa.db_triggers import TriggerSet

#: Tables whose rows never change once written.
FROZEN = (
    "documents_document",
    "documents_documentline",
    "documents_allocation",
    "documents_document_delivery_notes",
    "documents_quotationresponse",
    "documents_renderedfile",
)
COUNTER = "documents_documentcounter"
TABLES = (*FROZEN, COUNTER)

# A counter row keeps its identity, and its `last` never goes down.
_COUNTER_MOVED = (
    "NEW.id <> OLD.id OR NEW.licence_id <> OLD.licence_id OR NEW.type <> OLD.type "
    "OR NEW.year <> OLD.year OR NEW.last < OLD.last"
)
# The chain's head hash is the hash of the licence's document numbered `last`.
_HEAD_UNPROVEN = (
    "NEW.type <> 'chain' OR NEW.year <> 0 OR NOT EXISTS (SELECT 1 FROM documents_document d "
    "WHERE d.licence_id = NEW.licence_id AND d.counter = NEW.last AND d.hash = NEW.last_hash)"
)


def _pg_install() -> str:
    statements = [
        """CREATE OR REPLACE FUNCTION documents_row_frozen() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'issued documents are immutable: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;""",
        f"""CREATE OR REPLACE FUNCTION documents_counter_head() RETURNS trigger AS $$
BEGIN
    IF {_HEAD_UNPROVEN} THEN
        RAISE EXCEPTION 'document counters: last_hash is not the hash of the licence''s last document';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;""",
    ]
    for table in FROZEN:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_frozen ON {table};",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
            f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION documents_row_frozen();",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION documents_row_frozen();",
        ]
    statements += [
        f"DROP TRIGGER IF EXISTS {COUNTER}_moved ON {COUNTER};",
        f"DROP TRIGGER IF EXISTS {COUNTER}_head ON {COUNTER};",
        f"DROP TRIGGER IF EXISTS {COUNTER}_no_delete ON {COUNTER};",
        f"DROP TRIGGER IF EXISTS {COUNTER}_no_truncate ON {COUNTER};",
        f"CREATE TRIGGER {COUNTER}_moved BEFORE UPDATE ON {COUNTER} FOR EACH ROW "
        f"WHEN ({_COUNTER_MOVED}) EXECUTE FUNCTION documents_row_frozen();",
        f"CREATE TRIGGER {COUNTER}_head BEFORE UPDATE ON {COUNTER} FOR EACH ROW "
        "WHEN (NEW.last_hash IS DISTINCT FROM OLD.last_hash) EXECUTE FUNCTION documents_counter_head();",
        f"CREATE TRIGGER {COUNTER}_no_delete BEFORE DELETE ON {COUNTER} "
        "FOR EACH ROW EXECUTE FUNCTION documents_row_frozen();",
        f"CREATE TRIGGER {COUNTER}_no_truncate BEFORE TRUNCATE ON {COUNTER} "
        "FOR EACH STATEMENT EXECUTE FUNCTION documents_row_frozen();",
    ]
    return "\n".join(statements)


def _pg_remove() -> str:
    statements = []
    for table in FROZEN:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_frozen ON {table};",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
        ]
    statements += [
        f"DROP TRIGGER IF EXISTS {COUNTER}_{name} ON {COUNTER};"
        for name in ("moved", "head", "no_delete", "no_truncate")
    ]
    statements += [
        "DROP FUNCTION IF EXISTS documents_row_frozen();",
        "DROP FUNCTION IF EXISTS documents_counter_head();",
    ]
    return "\n".join(statements)


def _refuse(message: str) -> str:
    return f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"


def _sqlite_triggers() -> dict[str, str]:
    """Trigger name → its CREATE statement."""
    triggers: dict[str, str] = {}
    for table in FROZEN:
        for op in ("UPDATE", "DELETE"):
            name = f"{table}_no_{op.lower()}"
            triggers[name] = f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table} " + _refuse(
                f"issued documents are immutable: {op} on {table} refused"
            )
    triggers[f"{COUNTER}_moved"] = (
        f"CREATE TRIGGER IF NOT EXISTS {COUNTER}_moved BEFORE UPDATE ON {COUNTER} "
        f"WHEN {_COUNTER_MOVED} "
        + _refuse("document counters keep their licence, type and year, and never go down: UPDATE refused")
    )
    triggers[f"{COUNTER}_head"] = (
        f"CREATE TRIGGER IF NOT EXISTS {COUNTER}_head BEFORE UPDATE OF last_hash ON {COUNTER} "
        f"WHEN NEW.last_hash IS NOT OLD.last_hash AND ({_HEAD_UNPROVEN}) "
        + _refuse("document counters: last_hash is not the hash of the licence''s last document")
    )
    triggers[f"{COUNTER}_no_delete"] = (
        f"CREATE TRIGGER IF NOT EXISTS {COUNTER}_no_delete BEFORE DELETE ON {COUNTER} "
        + _refuse(f"issued documents are immutable: DELETE on {COUNTER} refused")
    )
    return triggers


def _pg_trigger_names() -> list[str]:
    names = [f"{table}_{kind}" for table in FROZEN for kind in ("frozen", "no_truncate")]
    names += [f"{COUNTER}_{kind}" for kind in ("moved", "head", "no_delete", "no_truncate")]
    return names


TRIGGERS = TriggerSet(TABLES, _pg_install, _pg_remove, _sqlite_triggers, _pg_trigger_names)
triggers_install = TRIGGERS.install
triggers_remove = TRIGGERS.remove
triggers_suspend = TRIGGERS.suspend
triggers_resume = TRIGGERS.resume
triggers_missing = TRIGGERS.missing
