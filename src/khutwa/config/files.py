"""Files the platform writes are readable by the service user (and its group), never by the
machine's other users.

- The process umask: every entry point calls `restrict_umask()` before Django starts —
  `khutwa` (khutwa.cli), config/wsgi.py (gunicorn) and config/asgi.py — so that what they
  create (the SQLite database and its -wal and -shm files, collected static files, mail in
  development) is at most 0640, folders 0750.
- Explicit modes where it matters whatever the umask: `write_new` creates a file with exactly
  the mode given (secrets 0600, attachments settings.FILE_UPLOAD_PERMISSIONS); the key store
  writes its own (trust/keys.py).
"""

from __future__ import annotations

import os
from pathlib import Path

UMASK = 0o027


def restrict_umask() -> int:
    """Adds 027 to the process umask (a stricter one, e.g. 077, is kept); returns the new one."""
    current = os.umask(UMASK)
    os.umask(current | UMASK)
    return current | UMASK


def write_new(path: Path, data: bytes, *, mode: int) -> None:
    """Creates `path` (it must not exist) with exactly `mode`, whatever the umask, and writes
    `data`: the file is never readable by others, not even for an instant."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(data)
