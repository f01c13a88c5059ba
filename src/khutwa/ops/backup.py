"""Backups of everything a Khutwa site cannot rebuild: the database, the key store and the
private files (attachments), in one encrypted file (ops/crypto.py).

Inside (a tar, gzip-compressed, then encrypted):

- ``database.sqlite3`` (SQLite's online backup API: a consistent copy while the site runs) or
  ``database.pgdump`` (``pg_dump --format=custom``, one snapshot);
- ``keys/`` (KHUTWA_KEY_DIR: the signing keys, sealed by KHUTWA_KEY_PASSPHRASE as on disk);
- ``private/`` (KHUTWA_PRIVATE_DIR: attachments), ``secret_key`` in development;
- ``manifest.json``: what the backup holds (engine, migrations, counts) and each file's SHA-256,
  checked before anything is restored.

`restore` checks everything first (key, integrity, manifest, an empty target unless forced),
then writes: the database, then the folders.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.db.migrations.recorder import MigrationRecorder

from khutwa.ops import crypto

FORMAT = "khutwa-backup/1"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(Exception):
    """A backup or a restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]

    @property
    def engine(self) -> str:
        return str(self.data["engine"])

    def summary(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.data["counts"].items())
        return f"{self.data['created_at']} from {self.engine}: {counts}"


def backup_key() -> bytes:
    text = os.environ.get("KHUTWA_BACKUP_KEY", "")
    if not text.strip():
        raise BackupError(
            "KHUTWA_BACKUP_KEY is not set: backups are always encrypted. Make a key with "
            "`khutwa backup --new-key`, keep it apart from the backups, and set it."
        )
    try:
        return crypto.parse_key(text)
    except crypto.BackupCryptoError as exc:
        raise BackupError(str(exc)) from None


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in DATABASE_FILES:
        raise BackupError(f"cannot back up a {vendor} database")
    return vendor


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidate = Path("/usr/lib/postgresql/15/bin") / name
    if candidate.is_file():
        return str(candidate)
    raise BackupError(f"{name} (PostgreSQL 15's client) is not installed")


def _pg_environment() -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password only in the environment."""
    db = settings.DATABASES["default"]
    args = ["--dbname", str(db["NAME"])]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _counts() -> dict[str, int]:
    from khutwa.audit.models import AuditEvent
    from khutwa.documents.models import Document
    from khutwa.licensing.models import Application, Licence

    return {
        "applications": Application.objects.count(),
        "licences": Licence.objects.count(),
        "documents": Document.objects.count(),
        "audit events": AuditEvent.objects.count(),
    }


def _migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        if name > latest.get(app, ""):
            latest[app] = name
    return dict(sorted(latest.items()))


def _dump_database(engine: str, target: Path) -> None:
    if engine == "sqlite":
        source = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]))
        copy = sqlite3.connect(str(target))
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    args, env = _pg_environment()
    result = subprocess.run(  # noqa: S603
        [
            _pg_tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(target),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")


def _folders() -> dict[str, Path]:
    folders = {"keys": Path(settings.KHUTWA_KEY_DIR), "private": Path(settings.KHUTWA_PRIVATE_DIR)}
    return {name: path for name, path in folders.items() if path.is_dir()}


def _dev_secret() -> Path | None:
    path = Path(settings.VAR_DIR) / "secret_key"
    return path if path.is_file() and not settings.IS_PRODUCTION else None


def backup(output: Path) -> Manifest:
    """Writes the encrypted backup to `output` (0600, never half-written) and returns what it holds."""
    master = backup_key()
    engine = _engine()
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        raise BackupError(f"{output} exists; give another --output")
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".khutwa-backup-") as scratch:
        work = Path(scratch)
        files: dict[str, dict[str, Any]] = {}
        database = work / DATABASE_FILES[engine]
        counts, migrations = _counts(), _migrations()
        _dump_database(engine, database)
        files[database.name] = {"sha256": _sha256(database), "size": database.stat().st_size}
        archive_path = work / "backup.tar.gz"
        with tarfile.open(archive_path, "w:gz", compresslevel=6) as archive:
            archive.add(database, arcname=database.name)
            for name, folder in _folders().items():
                for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".lock"):
                    arcname = f"{name}/{path.relative_to(folder).as_posix()}"
                    files[arcname] = {"sha256": _sha256(path), "size": path.stat().st_size}
                    archive.add(path, arcname=arcname, recursive=False)
            secret = _dev_secret()
            if secret is not None:
                files["secret_key"] = {"sha256": _sha256(secret), "size": secret.stat().st_size}
                archive.add(secret, arcname="secret_key")
            manifest = {
                "format": FORMAT,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "engine": engine,
                "migrations": migrations,
                "counts": counts,
                "files": files,
            }
            manifest_path = work / "manifest.json"
            manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
            archive.add(manifest_path, arcname="manifest.json")
        partial = output.with_name(output.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with archive_path.open("rb") as plain, os.fdopen(fd, "wb") as sealed:
                crypto.encrypt(plain, sealed, master)
                sealed.flush()
                os.fsync(sealed.fileno())
            partial.rename(output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return Manifest(manifest)


def _open(path: Path, work: Path, master: bytes) -> Manifest:
    """Decrypts and unpacks `path` into `work`, checks every file against the manifest."""
    plain = work / "backup.tar.gz"
    try:
        with path.open("rb") as sealed, plain.open("wb") as out:
            crypto.decrypt(sealed, out, master)
    except FileNotFoundError:
        raise BackupError(f"no backup file {path}") from None
    except crypto.BackupCryptoError as exc:
        raise BackupError(str(exc)) from None
    unpacked = work / "content"
    unpacked.mkdir(mode=0o700)
    with tarfile.open(plain, "r:gz") as archive:
        archive.extractall(unpacked, filter="data")  # no absolute paths, links out, devices
    plain.unlink()
    try:
        data = json.loads((unpacked / "manifest.json").read_text())
    except (OSError, ValueError):
        raise BackupError("the backup has no readable manifest") from None
    if data.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {data.get('format')!r}")
    for name, meta in data["files"].items():
        path_in = unpacked / name
        if not path_in.is_file() or _sha256(path_in) != meta["sha256"]:
            raise BackupError(f"{name} in the backup does not match its manifest")
    present = {p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    if present != set(data["files"]):
        raise BackupError("the backup holds files its manifest does not list")
    return Manifest(data)


def inspect(path: Path) -> Manifest:
    """Decrypts and checks a backup without restoring anything."""
    master = backup_key()
    with tempfile.TemporaryDirectory(prefix="khutwa-restore-") as scratch:
        return _open(path, Path(scratch), master)


def _database_in_use() -> bool:
    tables = connection.introspection.table_names()
    if "django_migrations" not in tables:
        return False
    return MigrationRecorder(connection).migration_qs.exists()


def _restore_database(engine: str, source: Path, force: bool) -> None:
    if engine == "sqlite":
        target = Path(str(settings.DATABASES["default"]["NAME"]))
        connections.close_all()
        target.parent.mkdir(parents=True, exist_ok=True)
        backup_db = sqlite3.connect(str(source))
        live = sqlite3.connect(str(target))
        try:
            backup_db.backup(live)  # replaces every page of the target, in one step
        finally:
            live.close()
            backup_db.close()
        return
    args, env = _pg_environment()
    command = [
        _pg_tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
    ]
    if force:
        command += ["--clean", "--if-exists"]
    connections.close_all()
    result = subprocess.run(  # noqa: S603
        [*command, *args, str(source)], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}")


def _replace_folder(source: Path, target: Path, *, mode: int) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, copy_function=shutil.copy2)
    target.chmod(mode)
    for path in target.rglob("*"):
        if path.is_dir():
            path.chmod(mode)


def restore(path: Path, *, force: bool = False) -> Manifest:
    """Restores a backup over an empty site (or any site with `force`)."""
    master = backup_key()
    engine = _engine()
    with tempfile.TemporaryDirectory(prefix="khutwa-restore-") as scratch:
        manifest = _open(path, Path(scratch), master)
        content = Path(scratch) / "content"
        if manifest.engine != engine:
            raise BackupError(
                f"this backup is of a {manifest.engine} database; DATABASE_URL points at {engine}"
            )
        targets = {"keys": Path(settings.KHUTWA_KEY_DIR), "private": Path(settings.KHUTWA_PRIVATE_DIR)}
        if not force:
            if _database_in_use():
                raise BackupError("the database is not empty; restore into an empty one, or add --force")
            for name, target in targets.items():
                if (content / name).is_dir() and target.is_dir() and any(target.iterdir()):
                    raise BackupError(f"{target} is not empty; move it away, or add --force")
        _restore_database(engine, content / DATABASE_FILES[engine], force)
        for name, target in targets.items():
            if (content / name).is_dir():
                _replace_folder(content / name, target, mode=0o700 if name == "keys" else 0o750)
        secret = content / "secret_key"
        if secret.is_file() and not settings.IS_PRODUCTION:
            live = Path(settings.VAR_DIR) / "secret_key"
            live.unlink(missing_ok=True)
            shutil.copy2(secret, live)
            live.chmod(0o600)
    return manifest
