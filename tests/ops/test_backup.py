"""Backups: a site backed up, wiped and restored has every document verifying and both chains
intact, on the database the suite runs on (SQLite, then PostgreSQL); the file is encrypted and
any change to it is refused before anything is written."""

import io
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from khutwa.ops import crypto
from tests.config.test_settings import environment_for
from tests.processes import migrate

KEY = crypto.new_key()


def _database_url(tmp_path: Path) -> tuple[str, str | None]:
    """A database of this test's own: a file under tmp_path, or a fresh PostgreSQL database in
    the suite's cluster when the suite runs on PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp_path / 'site.sqlite3'}", None
    name = f"khutwa_backup_{uuid.uuid4().hex[:10]}"
    return url.rsplit("/", 1)[0] + f"/{name}", name


def _admin(url: str, sql: str) -> None:
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _environment(tmp_path: Path, url: str) -> dict[str, str]:
    return environment_for(
        tmp_path / "var", DATABASE_URL=url, KHUTWA_BACKUP_KEY=KEY, KHUTWA_KEY_PASSPHRASE="backup-test"
    )


def _khutwa(tmp_path: Path, url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "khutwa.cli", *args],
        env=_environment(tmp_path, url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.database_engine
def test_backup_wipe_restore_keeps_every_document_verifying(tmp_path):
    url, pg_name = _database_url(tmp_path)
    if pg_name:
        _admin(url, f'CREATE DATABASE "{pg_name}"')
    try:
        var = tmp_path / "var"
        # The test process' migrated template, copied (tests/processes.py): the same schema as
        # `khutwa migrate`, which the first such test of the process runs from nothing.
        migrate(_environment(tmp_path, url))
        _khutwa(tmp_path, url, "demo")
        attachment = var / "private" / "attachments" / "a1.pdf"
        attachment.parent.mkdir(parents=True, exist_ok=True)
        attachment.write_bytes(b"%PDF-1.7 an applicant's plan\n")
        keys_before, private_before = _tree(var / "keys"), _tree(var / "private")
        made = _khutwa(tmp_path, url, "backup", "--output", str(tmp_path / "b.kbk"))
        assert "documents" in made.stdout
        backup_bytes = (tmp_path / "b.kbk").read_bytes()
        assert oct((tmp_path / "b.kbk").stat().st_mode & 0o777) == "0o600"
        # Encrypted: neither the database nor a key appears in the clear.
        assert b"SQLite format" not in backup_bytes and b"PGDMP" not in backup_bytes
        assert b"BEGIN" not in backup_bytes and b"an applicant's plan" not in backup_bytes

        # Over a site in use, restore refuses and changes nothing.
        refused = _khutwa(tmp_path, url, "restore", str(tmp_path / "b.kbk"), check=False)
        assert refused.returncode == 1 and "not empty" in refused.stderr

        # Wipe: the database, the keys and the attachments are gone.
        shutil.rmtree(var / "keys")
        shutil.rmtree(var / "private")
        if pg_name:
            _admin(url, f'DROP DATABASE "{pg_name}" WITH (FORCE)')
            _admin(url, f'CREATE DATABASE "{pg_name}"')
        else:
            (tmp_path / "site.sqlite3").unlink()

        restored = _khutwa(tmp_path, url, "restore", str(tmp_path / "b.kbk"))
        assert "audit chains intact" in restored.stdout
        assert "documents intact: 32 documents" in restored.stdout, restored.stdout
        assert _tree(var / "keys") == keys_before
        assert _tree(var / "private") == private_before
        # The restored site signs with the restored keys: its chains go on verifying.
        again = _khutwa(tmp_path, url, "documents-verify")
        assert "documents intact" in again.stdout
    finally:
        if pg_name:
            _admin(url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _roundtrip(data: bytes, key: bytes) -> bytes:
    sealed = io.BytesIO()
    crypto.encrypt(io.BytesIO(data), sealed, key)
    plain = io.BytesIO()
    crypto.decrypt(io.BytesIO(sealed.getvalue()), plain, key)
    return plain.getvalue()


def _sealed(data: bytes, key: bytes) -> bytes:
    out = io.BytesIO()
    crypto.encrypt(io.BytesIO(data), out, key)
    return out.getvalue()


def _refused(blob: bytes, key: bytes) -> str:
    with pytest.raises(crypto.BackupCryptoError) as caught:
        crypto.decrypt(io.BytesIO(blob), io.BytesIO(), key)
    return str(caught.value)


@pytest.fixture
def small_segments(monkeypatch):
    monkeypatch.setattr(crypto, "SEGMENT", 64)


def test_stream_round_trips_every_length(small_segments):
    key = crypto.parse_key(KEY)
    for size in (0, 1, 63, 64, 65, 128, 129, 1000):
        data = os.urandom(size)
        assert _roundtrip(data, key) == data


def test_any_change_cut_reorder_or_wrong_key_is_refused(small_segments):
    key = crypto.parse_key(KEY)
    blob = _sealed(os.urandom(200), key)  # 4 segments of 64, 64, 64, 8 bytes
    header = len(crypto.MAGIC) + 16 + 7
    seg = 4 + 64 + 16
    for position in range(0, len(blob), 7):
        changed = bytearray(blob)
        changed[position] ^= 0x01
        _refused(bytes(changed), key)
    # Cut after a whole segment: the last one is missing.
    assert "cut short" in _refused(blob[: header + 2 * seg], key)
    # Two segments swapped.
    first, second = blob[header : header + seg], blob[header + seg : header + 2 * seg]
    _refused(blob[:header] + second + first + blob[header + 2 * seg :], key)
    # Data appended after the last segment.
    assert "after its last segment" in _refused(blob + b"x", key)
    # Another key.
    assert "wrong KHUTWA_BACKUP_KEY" in _refused(blob, crypto.parse_key(crypto.new_key()))
    # Not a backup at all.
    assert "not a Khutwa backup" in _refused(b"PK\x03\x04" + blob, key)


def test_key_must_be_32_bytes():
    for text in ("", "short", "!!!!", crypto.new_key()[:-4]):
        with pytest.raises(crypto.BackupCryptoError):
            crypto.parse_key(text)
