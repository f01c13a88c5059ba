"""Tasks that exist only for the tests of khutwa.jobs (imported by workers started by the tests,
with the repository on PYTHONPATH): one that fails a set number of times, one that waits."""

from __future__ import annotations

import time
from pathlib import Path

from django_tasks import task

from khutwa.jobs.retry import retrying

#: Calls per key, in this process.
CALLS: dict[str, int] = {}


@task()
@retrying(attempts=3, base_seconds=10)
def flaky(key: str, failures: int) -> str:
    """Fails its first `failures` calls for `key`, then succeeds."""
    CALLS[key] = CALLS.get(key, 0) + 1
    if CALLS[key] <= failures:
        raise RuntimeError(f"{key}: failure number {CALLS[key]}")
    return f"{key}: done"


@task()
@retrying()
def wait_for_go(directory: str) -> str:
    """Writes "start" to directory/log, waits for directory/go, then makes its effect: one line in
    directory/effect, written only if no earlier run wrote it (idempotent)."""
    folder = Path(directory)
    with (folder / "log").open("a") as log:
        log.write("start\n")
    while not (folder / "go").exists():
        time.sleep(0.05)
    try:
        with (folder / "effect").open("x") as effect:
            effect.write("done\n")
    except FileExistsError:
        return "already done"
    return "done"
