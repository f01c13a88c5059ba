"""Fresh, migrated databases for tests that run the platform in separate processes.

Migrating from nothing takes about ten seconds of a process; these tests need the same schema
many times. The first call in a test process migrates a template with `khutwa migrate` (so the
migrations still run from nothing, in a separate process, in every suite) and every call copies it:
on SQLite a template file copied with SQLite's backup API (a consistent copy, WAL included); on
PostgreSQL a template database, and the database given is made again as
`CREATE DATABASE ... TEMPLATE` (a file copy in the server, well under a second).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_template: dict[str, Path] = {}
_template_database: dict[str, str] = {}


def _khutwa() -> str:
    return str(Path(sys.executable).parent / "khutwa")


def migrate(env: dict[str, str], *, timeout: int = 300) -> None:
    """Brings the database at env["DATABASE_URL"] to the latest migrations."""
    url = env["DATABASE_URL"]
    if url.startswith("postgres"):
        _copy_postgresql_template(env, timeout=timeout)
        return
    if not url.startswith("sqlite:///"):
        subprocess.run([_khutwa(), "migrate", "-v0"], env=env, check=True, cwd=ROOT, timeout=timeout)  # noqa: S603
        return
    if "sqlite" not in _template:
        folder = Path(tempfile.mkdtemp(prefix="khutwa-migrated-"))
        template = folder / "template.sqlite3"
        subprocess.run(  # noqa: S603
            [_khutwa(), "migrate", "-v0"],
            env={**env, "DATABASE_URL": f"sqlite:///{template}", "KHUTWA_VAR_DIR": str(folder)},
            check=True,
            cwd=ROOT,
            timeout=timeout,
        )
        _template["sqlite"] = template
    target = Path(url[len("sqlite:///") :])
    source = sqlite3.connect(str(_template["sqlite"]))
    copy = sqlite3.connect(str(target))
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def _admin(url: str, *statements: str) -> None:
    """Runs statements in the cluster's `postgres` database (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def _drop_quietly(url: str, name: str) -> None:
    """At the test process' exit: the template goes (unless the cluster is already gone)."""
    import psycopg

    with contextlib.suppress(psycopg.Error):
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy_postgresql_template(env: dict[str, str], *, timeout: int) -> None:
    """The database at env["DATABASE_URL"] (created, still empty, by the test) replaced by a copy
    of this process' migrated template."""
    url = env["DATABASE_URL"]
    base, name = url.rsplit("/", 1)
    if "postgresql" not in _template_database:
        template = f"khutwa_migrated_{os.getpid()}"
        _admin(url, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)', f'CREATE DATABASE "{template}"')
        atexit.register(_drop_quietly, url, template)
        subprocess.run(  # noqa: S603
            [_khutwa(), "migrate", "-v0"],
            env={**env, "DATABASE_URL": f"{base}/{template}"},
            check=True,
            cwd=ROOT,
            timeout=timeout,
        )
        _template_database["postgresql"] = template
    template = _template_database["postgresql"]
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    _admin(url, drop, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
