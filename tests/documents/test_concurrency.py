"""Several processes issuing for one licence at once get numbers 1..N, no gap, no duplicate,
and one unbroken chain — on the database the suite runs on (SQLite file or PostgreSQL)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.processes import migrate

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
EACH = 8


@pytest.fixture
def database_url(tmp_path):
    """A fresh database of the suite's vendor, migrated by a separate process."""
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        name = f"khutwa_concurrency_{uuid.uuid4().hex[:8]}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{name}"
        yield url
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite:///{tmp_path / 'concurrency.sqlite3'}"


def _env(database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "KHUTWA_VAR_DIR": str(tmp_path),
            "KHUTWA_KEY_PASSPHRASE": "concurrency",
            "DJANGO_SETTINGS_MODULE": "khutwa.config.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


@pytest.mark.django_db(transaction=True)
def test_concurrent_processes_get_gapless_unique_numbers_and_one_chain(database_url, tmp_path):
    env = _env(database_url, tmp_path)
    migrate(env)
    worker = str(Path(__file__).with_name("concurrency_worker.py"))
    subprocess.run([sys.executable, worker, "setup"], env=env, check=True, cwd=ROOT)  # noqa: S603
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, worker, "issue", str(EACH)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    numbers = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        numbers += out.split()
    sequence = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequence == list(range(1, WORKERS * EACH + 1))
    check = (
        "from khutwa.documents.models import Document\n"
        "from khutwa.trust.verify import chain_verify\n"
        "docs = list(Document.objects.order_by('counter'))\n"
        "assert [d.counter for d in docs] == list(range(1, len(docs) + 1)), 'counters'\n"
        "assert chain_verify([d.payload for d in docs]) == [], chain_verify([d.payload for d in docs])\n"
        "print(len(docs))\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()\n" + check],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(WORKERS * EACH)
