"""What the append-only and immutability triggers of the audit log, the issued documents and the
transparency log share: installing, removing, suspending, resuming and listing the missing ones,
on SQLite and PostgreSQL. Each app describes its own triggers (``TriggerSet``); the SQL is
theirs, the handling is here.

On PostgreSQL suspending disables the tables' user triggers; on SQLite, which cannot disable a
trigger, it drops them until they are installed again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def run_statements(connection: Any, statements: str | list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in [statements] if isinstance(statements, str) else statements:
            cursor.execute(statement)


@dataclass(frozen=True)
class TriggerSet:
    """One app's triggers: the tables they guard, PostgreSQL's install and remove scripts,
    SQLite's triggers (name → CREATE statement) and PostgreSQL's trigger names."""

    tables: tuple[str, ...]
    pg_install: Callable[[], str]
    pg_remove: Callable[[], str]
    sqlite_triggers: Callable[[], dict[str, str]]
    pg_trigger_names: Callable[[], list[str]]

    def install(self, connection: Any) -> None:
        """Create (or re-create) every trigger; safe to run again."""
        if connection.vendor == "postgresql":
            run_statements(connection, self.pg_install())
        elif connection.vendor == "sqlite":
            run_statements(connection, list(self.sqlite_triggers().values()))

    def remove(self, connection: Any) -> None:
        if connection.vendor == "postgresql":
            run_statements(connection, self.pg_remove())
        elif connection.vendor == "sqlite":
            run_statements(connection, [f"DROP TRIGGER IF EXISTS {name};" for name in self.sqlite_triggers()])

    def _pg_alter(self, connection: Any, action: str) -> None:
        # Inside a transaction that wrote rows, PostgreSQL refuses ALTER TABLE while deferred
        # foreign-key checks are pending: run them first, then defer again.
        statements = [f"ALTER TABLE {table} {action} TRIGGER USER" for table in self.tables]
        if connection.in_atomic_block:
            statements = ["SET CONSTRAINTS ALL IMMEDIATE", *statements, "SET CONSTRAINTS ALL DEFERRED"]
        run_statements(connection, statements)

    def suspend(self, connection: Any) -> None:
        """Switch the triggers off (PostgreSQL: disabled; SQLite: dropped until reinstalled)."""
        if connection.vendor == "postgresql":
            self._pg_alter(connection, "DISABLE")
        elif connection.vendor == "sqlite":
            self.remove(connection)

    def resume(self, connection: Any) -> None:
        if connection.vendor == "postgresql":
            self._pg_alter(connection, "ENABLE")
        elif connection.vendor == "sqlite":
            self.install(connection)

    def missing(self, connection: Any) -> list[str]:
        """The triggers that are not installed, or (PostgreSQL) installed but disabled."""
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relname = ANY(%s)",
                    [list(self.tables)],
                )
                present = {name for (name,) in cursor.fetchall()}
                return [name for name in self.pg_trigger_names() if name not in present]
            if connection.vendor == "sqlite":
                cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                present = {name for (name,) in cursor.fetchall()}
                return [name for name in self.sqlite_triggers() if name not in present]
        return []
