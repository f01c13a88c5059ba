"""The public verdict's functions on PostgreSQL (documents/verdict_function.py).

khutwa verdict_functions            list them, marking this code's
khutwa verdict_functions --install  install this code's (every `migrate` does)
khutwa verdict_functions --prune    drop those of earlier code, once every server runs this code
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from khutwa.documents import verdict_function
from khutwa.documents.verification import verdict_statements


class Command(BaseCommand):
    help = (
        "The public verification's statement as PostgreSQL functions (plans kept per server "
        "connection, behind any pooler): list them, install this code's, or drop earlier code's."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--install", action="store_true", help="install this code's function")
        action.add_argument("--prune", action="store_true", help="drop the functions of earlier code")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        db = connections[options["database"]]
        if db.vendor != "postgresql":
            raise CommandError(
                "The verdict's functions exist on PostgreSQL only; SQLite plans nothing ahead."
            )
        statements = verdict_statements(db.vendor)
        current = {verdict_function.function_name(statement) for statement, _key in statements}
        if options["install"]:
            for statement, key_type in statements:
                self.stdout.write(f"installed {verdict_function.install(db, statement, key_type)}")
            return
        if options["prune"]:
            for name in verdict_function.prune(db, keep=current):
                self.stdout.write(f"dropped {name}")
            return
        installed = verdict_function.installed(db)
        for name in installed:
            self.stdout.write(f"{name}{'  (this code)' if name in current else ''}")
        for name in sorted(current - set(installed)):
            self.stdout.write(f"{name}  (this code, missing: run migrate or --install)")
