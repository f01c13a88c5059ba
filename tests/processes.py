"""Fresh, migrated databases for tests that run the platform in separate processes.

Migrating from nothing takes about ten seconds of a process; these tests need the same schema
many times. On SQLite the first call migrates a template file (per test process) and every call
copies it (SQLite's backup API: a consistent copy, WAL included); on PostgreSQL each call
migrates the fresh database it is given, as before.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_template: dict[str, Path] = {}


def _khutwa() -> str:
    return str(Path(sys.executable).parent / "khutwa")


def migrate(env: dict[str, str], *, timeout: int = 300) -> None:
    """Brings the database at env["DATABASE_URL"] to the latest migrations."""
    url = env["DATABASE_URL"]
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
