"""Officers approving at the same moment never commit more than the budget — raced from separate
OS processes on the database the suite runs on (a SQLite file or PostgreSQL), the way
tests/documents/test_concurrency.py races document numbering."""

import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from tests.processes import migrate

ROOT = Path(__file__).resolve().parents[2]
WORKER = str(Path(__file__).with_name("race_worker.py"))
APPLICANTS = 6
BUDGET = Decimal("500.000")  # room for 2.5 approvals of 200


@pytest.fixture
def database_url(tmp_path):
    """A fresh database of the suite's vendor, migrated by a separate process."""
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        name = f"khutwa_budget_race_{uuid.uuid4().hex[:8]}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{name}"
        yield url
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite:///{tmp_path / 'budget-race.sqlite3'}"


def _env(database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "KHUTWA_VAR_DIR": str(tmp_path),
            "KHUTWA_KEY_DIR": str(tmp_path / "keys"),
            "KHUTWA_KEY_PASSPHRASE": "budget-race",
            "DJANGO_SETTINGS_MODULE": "khutwa.config.settings",
            "PYTHONPATH": str(ROOT),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    return env


def _run(args, env):
    result = subprocess.run(  # noqa: S603
        [sys.executable, WORKER, *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return _answers(result.stdout)


def _answers(out):
    """The worker's answers: its lines starting with "@ " (anything else is, say, printed mail)."""
    return [line[2:] for line in out.splitlines() if line.startswith("@ ")]


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_never_exceed_the_budget(database_url, tmp_path):
    env = _env(database_url, tmp_path)
    migrate(env)
    applications = _run(["setup", str(BUDGET), str(APPLICANTS)], env)
    assert len(applications) == APPLICANTS
    workers = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, WORKER, "decide", pk],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pk in applications
    ]
    try:
        for worker in workers:  # every worker is loaded and waiting ...
            if worker.stdout.readline() != "@ ready\n":
                _, err = worker.communicate(timeout=60)
                pytest.fail(f"a worker died before the barrier:\n{err}")
        for worker in workers:  # ... and all are released together
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outcomes = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            outcomes += _answers(out)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    # The first two get 200 each, the third the 100 left; the rest are refused for the budget.
    assert outcomes.count("approved") == 3, outcomes
    refusals = [o for o in outcomes if o.startswith("refused ")]
    assert len(refusals) == APPLICANTS - 3, outcomes
    assert all("budget" in r for r in refusals), refusals
    state = json.loads(_run(["report"], env)[0])
    reserved = Decimal(state["reserved"])
    assert Decimal(state["budget"]) == BUDGET
    assert reserved == sum(Decimal(e) for e in state["approved"])
    assert reserved <= BUDGET
    assert reserved == Decimal("500.000")
    assert sorted(Decimal(e) for e in state["approved"]) == [
        Decimal("100.000"),
        Decimal("200.000"),
        Decimal("200.000"),
    ]
