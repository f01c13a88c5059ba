"""The monitor and the witness over real HTTP, against a live server on 127.0.0.1.

A good sequence passes; a log forked into two trees with the same origin and key, each shown to
one monitor, is caught through gossip; a shrink and a tampered entry are caught; the witness
refuses to cosign a shrink or a fork and its cosignatures are served with the checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from khutwa.tlog.keys import log_vkey
from khutwa.tlog.models import Checkpoint, Cosignature, Entry, LogState, Node, Pending
from khutwa.tlog.note import Signer
from khutwa.tlog.services import document_entry, sequence_all
from khutwa.tlog.triggers import triggers_suspend
from tests.documents.conftest import customer, holder, licence, world  # noqa: F401
from tests.documents.conftest import issue as issue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _open_log(settings):  # type: ignore[no-untyped-def]
    settings.KHUTWA_PUBLIC_RATE = "100000/m"  # a monitor reads many pages and verifies every document


def _run(command: str, *args: str) -> str:
    """Run a management command; its output (or CommandError with its exit status)."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except CommandError as exc:
        exc.args = (f"{exc.args[0]}\n{err.getvalue()}",)
        raise
    return out.getvalue()


def _monitor(url: str, state: Path, *extra: str) -> str:
    return _run("log_monitor", "--url", url, "--state", str(state), "--vkey", log_vkey(), *extra)


def _alarm(url: str, state: Path, *extra: str) -> tuple[int, str]:
    with pytest.raises(CommandError) as error:
        _monitor(url, state, *extra)
    return error.value.returncode, str(error.value)


def _operator() -> None:
    """The operator owns the database: the log's append-only triggers go off first."""
    triggers_suspend(connection)


def _rewrite_log(documents: list) -> None:  # type: ignore[type-arg]
    """The operator rebuilds the log from scratch with other entries, same origin and key."""
    _operator()
    Pending.objects.all().delete()
    Cosignature.objects.all().delete()
    Checkpoint.objects.all().delete()
    Node.objects.all().delete()
    Entry.objects.all().delete()
    LogState.objects.update(size=0)
    for document in documents:
        Pending.objects.create(
            kind="document", entry=document_entry(document), document=document, queued_at=timezone.now()
        )
    sequence_all()


def test_a_good_sequence_passes_and_a_shrink_is_caught(live_server, issue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    issue("invoice"), issue("quotation")
    sequence_all()
    first = _monitor(live_server.url, tmp_path / "m")
    assert "OK: the log of" in first and "2 documents verified" in first
    for _ in range(3):
        issue("invoice")
    sequence_all()
    second = _monitor(live_server.url, tmp_path / "m")
    size = Entry.objects.count()
    assert f"OK: the log of {size} entries" in second and "3 documents verified" in second
    # the operator drops the newest entries (and their checkpoints)
    _operator()
    Checkpoint.objects.filter(size=size).delete()
    code, message = _alarm(live_server.url, tmp_path / "m")
    assert code == 2 and "SHRINK" in message and f"from {size} to {size - 3}" in message


def test_a_fork_shown_to_two_monitors_is_caught_by_gossip(live_server, issue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b, c = issue("invoice"), issue("invoice"), issue("invoice")
    _rewrite_log([a, b, c])
    _monitor(live_server.url, tmp_path / "one")  # the first client sees a, b, c
    _rewrite_log([a, c, b])  # the second sees another tree of the same size
    _monitor(live_server.url, tmp_path / "two")  # alone, it sees nothing wrong
    seen_by_one = str(tmp_path / "one" / "checkpoint.txt")
    code, message = _alarm(live_server.url, tmp_path / "two", "--gossip", seen_by_one)
    assert code == 2 and "FORK" in message and "two different trees of 3 entries" in message
    code, message = _alarm(live_server.url, tmp_path / "one")  # and the first one, coming back
    assert code == 2 and "FORK" in message
    # the forked log grows: the other client's tree is no prefix of it
    _rewrite_log([a, c, b, issue("invoice")])
    code, message = _alarm(live_server.url, tmp_path / "three", "--gossip", seen_by_one)
    assert code == 2 and "FORK" in message and "not an extension" in message


def test_a_tampered_entry_is_caught(live_server, issue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    issue("invoice"), issue("invoice")
    sequence_all()
    entry = Entry.objects.filter(kind="document").order_by("index").last()
    assert entry is not None
    _operator()
    Entry.objects.filter(pk=entry.pk).update(entry=entry.entry.replace("INV-", "INX-"))
    code, message = _alarm(live_server.url, tmp_path / "m")
    assert code == 2 and "BAD-ENTRY" in message and f"entry {entry.index}" in message
    assert not (tmp_path / "m" / "state.json").exists()


def test_the_witness_cosigns_and_the_monitor_sees_it(live_server, issue, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "witness.pem"
    vkey = _run("log_witness_key", "--name", "tamkeen.example/witness", "--out", str(key)).strip()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    settings.KHUTWA_LOG_WITNESSES = [vkey]
    witness = ("--url", live_server.url, "--key", str(key), "--name", "tamkeen.example/witness")
    issue("invoice")
    sequence_all()
    keys = tmp_path / "keys.json"  # the log's key from a saved JWKS
    from khutwa.documents.signing import jwks

    keys.write_text(json.dumps(jwks()))
    out = _run("log_witness", *witness, "--state", str(tmp_path / "w"), "--keys", str(keys))
    size = Entry.objects.count()
    assert f"cosigned the checkpoint of {size} entries" in out
    assert Cosignature.objects.get().checkpoint.size == size
    report = _monitor(live_server.url, tmp_path / "m", "--witness", vkey)
    assert "cosigned by tamkeen.example/witness" in report
    issue("invoice")
    sequence_all()
    assert "(from" in _run("log_witness", *witness, "--state", str(tmp_path / "w"), "--vkey", log_vkey())
    assert Cosignature.objects.count() == 2
    # a shrink: the witness refuses, loudly, and sends nothing
    _operator()
    Cosignature.objects.filter(checkpoint__size=size + 1).delete()
    Checkpoint.objects.filter(size=size + 1).delete()
    with pytest.raises(CommandError) as error:
        _run("log_witness", *witness, "--state", str(tmp_path / "w"), "--vkey", log_vkey())
    assert error.value.returncode == 2 and "ALERT: SHRINK" in str(error.value)
    assert Cosignature.objects.count() == 1  # the deleted checkpoint's went with it; nothing new


def test_the_witness_refuses_a_fork(live_server, issue, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "witness.pem"
    settings.KHUTWA_LOG_WITNESSES = [
        _run("log_witness_key", "--name", "ministry.example/witness", "--out", str(key)).strip()
    ]
    witness = ("--url", live_server.url, "--key", str(key), "--name", "ministry.example/witness")
    a, b = issue("invoice"), issue("invoice")
    _rewrite_log([a, b])
    _run("log_witness", *witness, "--state", str(tmp_path / "w"), "--vkey", log_vkey())
    _rewrite_log([b, a, issue("invoice")])  # rewritten history, grown by one
    with pytest.raises(CommandError) as error:
        _run("log_witness", *witness, "--state", str(tmp_path / "w"), "--vkey", log_vkey())
    assert error.value.returncode == 2 and "ALERT: FORK" in str(error.value)
    assert Cosignature.objects.count() == 0


def test_bad_arguments_are_clear_errors(live_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="--witness"):
        _monitor(live_server.url, tmp_path / "m", "--witness", "not a vkey")
    with pytest.raises(CommandError, match="--url"):
        _run("log_monitor", "--url", "ftp://x", "--state", str(tmp_path))
    (tmp_path / "k.pem").write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    with pytest.raises(CommandError, match="--key"):
        _run(
            "log_witness",
            "--url",
            live_server.url,
            "--key",
            str(tmp_path / "k.pem"),
            "--name",
            "w",
            "--state",
            ".",
        )
    with pytest.raises(CommandError, match="exists"):
        _run("log_witness_key", "--name", "w", "--out", str(tmp_path / "k.pem"))
    assert Signer  # the names above are witness names, not keys


def test_the_khutwa_command_exits_2_on_a_shrink(live_server, issue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The real `khutwa log-monitor` process, as a cron job runs it."""
    issue("invoice")
    sequence_all()
    issue("invoice")
    sequence_all()
    _monitor(live_server.url, tmp_path / "m")
    _operator()
    Checkpoint.objects.filter(size=Entry.objects.count()).delete()
    command = [sys.executable, "-m", "khutwa.cli", "log-monitor", "--url", live_server.url]
    done = subprocess.run(  # noqa: S603
        [*command, "--state", str(tmp_path / "m"), "--vkey", log_vkey()],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "khutwa.config.settings"},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "ALERT: SHRINK" in done.stderr


def test_the_documented_python_checks_the_checkpoint(live_server, issue) -> None:  # type: ignore[no-untyped-def]
    """docs/transparency-log.md, "Checking offline": the snippet for third parties works as written."""
    issue("invoice")
    sequence_all()
    text = (Path(__file__).resolve().parents[2] / "docs" / "transparency-log.md").read_text()
    snippet = text.split("only `cryptography`:\n\n```python\n", 1)[1].split("```", 1)[0]
    snippet = snippet.replace('"https://khutwa.bh"', repr(live_server.url))
    scope: dict[str, object] = {}
    exec(compile(snippet, "transparency-log.md", "exec"), scope)  # noqa: S102 - our own documentation
    assert scope["signed"] is True and scope["size"] == str(Entry.objects.count())
