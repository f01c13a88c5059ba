"""Files the platform writes (the SQLite database and its -wal and -shm, attachments, keys,
secrets) are never readable by the machine's other users: the entry points set umask 027 and
secrets and attachments are written with explicit modes."""

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from khutwa.config.files import UMASK, restrict_umask, write_new
from khutwa.licensing import services
from tests.config.test_settings import environment_for
from tests.licensing.factories import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    return {
        str(path.relative_to(root)): stat.S_IMODE(path.lstat().st_mode) for path in [root, *root.rglob("*")]
    }


def world_accessible(found: dict[str, int]) -> dict[str, str]:
    return {name: oct(mode) for name, mode in found.items() if mode & 0o007}


UPLOAD = """
import json, os, stat
from pathlib import Path
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from khutwa.licensing import services
from tests.licensing.factories import applicant, make_input

user = applicant(cpr="811112229", username="modes-applicant")
application = services.application_create(actor=user, data=make_input(cpr=user.cpr))
client = Client()
client.force_login(user)
response = client.post(
    f"/en/applications/{application.pk}/attachments/",
    {"kind": "photo", "file": SimpleUploadedFile("kitchen.png", %r, content_type="image/png")},
)
assert response.status_code == 302, response.status_code
assert application.attachments.count() == 1
connection.ensure_connection()  # the database stays open: its -wal and -shm files exist
root = Path(settings.VAR_DIR)
print(json.dumps({str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in root.rglob("*")}))
"""


def run_khutwa(tmp_path: Path, *args: str) -> str:
    """`khutwa ARGS` in a fresh process started with the usual umask, 022."""
    result = subprocess.run(  # noqa: S603
        ["/bin/sh", "-c", 'umask 022 && exec "$@"', "sh", sys.executable, "-m", "khutwa.cli", *args],
        env=environment_for(tmp_path / "var", KHUTWA_DEMO_PASSWORD="demo-password-for-modes"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_nothing_the_platform_writes_under_var_is_world_readable(tmp_path):
    """Demo data loaded (database, keys, secrets), then an attachment uploaded through the page."""
    run_khutwa(tmp_path, "migrate", "--noinput", "-v0")
    run_khutwa(tmp_path, "demo")
    import json

    out = run_khutwa(tmp_path, "shell", "-c", UPLOAD % (PNG,))
    during = json.loads(out.strip().splitlines()[-1])
    var = tmp_path / "var"
    after = modes(var)

    # What the platform writes is all there (while the database is open, and after).
    assert {
        "khutwa.sqlite3",
        "khutwa.sqlite3-wal",
        "khutwa.sqlite3-shm",
        "secret_key",
        "key_passphrase",
    } <= set(during)
    assert [n for n in after if n.startswith("private/attachments/") and n.endswith(".png")]
    assert [n for n in after if n.startswith("keys/") and n.endswith(".key.pem")]
    # ... and none of it can be read, written or listed by others.
    assert world_accessible(during) == {}
    assert world_accessible(after) == {}
    # Secrets and private keys: the owner alone.
    for name in ("secret_key", "key_passphrase", *[n for n in after if n.endswith(".key.pem")]):
        assert after[name] == 0o600, name
    assert after["private/attachments"] == 0o750


@pytest.mark.django_db
def test_an_attachment_is_written_0640_in_a_0750_folder_whatever_the_umask(settings, tmp_path):
    settings.KHUTWA_PRIVATE_DIR = tmp_path / "private"
    world = World()
    application = world.draft()
    with umask(0o000):
        attachment = services.attachment_add(
            actor=world.applicant, application=application, kind="photo", name="k.png", content=PNG
        )
    stored = tmp_path / "private" / "attachments" / attachment.storage_name
    assert stored.read_bytes() == PNG
    assert stat.S_IMODE(stored.stat().st_mode) == 0o640
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o750
    assert stat.S_IMODE(stored.parent.parent.stat().st_mode) == 0o750


def test_write_new_sets_exactly_its_mode_and_never_overwrites(tmp_path):
    path = tmp_path / "secret"
    with umask(0o000):
        write_new(path, b"s3cret", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_bytes() == b"s3cret"
    with pytest.raises(FileExistsError):
        write_new(path, b"other", mode=0o600)
    assert path.read_bytes() == b"s3cret"


def test_the_development_secret_key_is_written_for_the_owner_alone(tmp_path):
    from khutwa.config.env import dev_secret_key

    with umask(0o000):
        key = dev_secret_key(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert dev_secret_key(tmp_path) == key


@pytest.mark.parametrize(("before", "after"), [(0o022, 0o027), (0o002, 0o027), (0o077, 0o077)])
def test_restrict_umask_adds_027_and_keeps_a_stricter_one(before, after):
    with umask(before):
        assert restrict_umask() == after
        assert os.umask(after) == after
    assert UMASK == 0o027


@pytest.mark.parametrize("module", ["khutwa.config.wsgi", "khutwa.config.asgi"])
def test_the_server_entry_points_restrict_the_umask(tmp_path, module):
    script = f"import os; os.umask(0o022); import {module}; print(oct(os.umask(0)))"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        env=environment_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0o27"
