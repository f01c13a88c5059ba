"""DB_PREPARE_THRESHOLD: PostgreSQL binds parameters on the server and prepares what a
connection runs often; off by default (PgBouncer before 1.21 cannot carry prepared statements)."""

import json

import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from tests.config.test_settings import SETUP, run_python

PRINT_OPTIONS = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps({k: v.get('OPTIONS', {}) for k, v in settings.DATABASES.items()}, default=str))"
)
PRIMARY = "postgres://khutwa@db1/khutwa"
REPLICA = "postgres://khutwa@db2/khutwa"


def _options(tmp_path, **env: str) -> dict[str, dict[str, object]]:
    result = run_python(tmp_path, PRINT_OPTIONS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_threshold_binds_on_the_server_and_prepares_on_the_primary_and_the_replica(tmp_path):
    options = _options(tmp_path, DATABASE_URL=PRIMARY, DATABASE_REPLICA_URL=REPLICA, DB_PREPARE_THRESHOLD="2")
    for alias in ("default", "replica"):
        assert options[alias]["server_side_binding"] is True
        assert options[alias]["prepare_threshold"] == 2


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": REPLICA},  # not set: off
        {"DATABASE_URL": PRIMARY, "DB_PREPARE_THRESHOLD": "0"},  # 0: off
        {"DB_PREPARE_THRESHOLD": "2"},  # SQLite has nothing to prepare
    ],
)
def test_without_a_threshold_or_on_sqlite_nothing_is_prepared(tmp_path, env):
    for options in _options(tmp_path, **env).values():
        assert "server_side_binding" not in options
        assert "prepare_threshold" not in options


@pytest.mark.parametrize("value", ["-1", "often"])
def test_a_malformed_threshold_is_named(tmp_path, value):
    result = run_python(tmp_path, SETUP, DATABASE_URL=PRIMARY, DB_PREPARE_THRESHOLD=value)
    assert result.returncode != 0
    assert "DB_PREPARE_THRESHOLD must" in result.stderr


def _prepared_after_three_runs(options: dict[str, object]) -> list[str]:
    """The statements PostgreSQL holds prepared on a connection with `options`, after the ORM ran
    the same read three times on it."""
    from khutwa.licensing.models import Licence

    wrapper = DatabaseWrapper({**connection.settings_dict, "OPTIONS": options}, alias="prepared")
    try:
        with wrapper.cursor() as cursor:
            sql, params = Licence.objects.filter(pk__gt=0).values("pk").query.sql_with_params()
            for _ in range(3):
                cursor.execute(sql, params)
                cursor.fetchall()
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]
    finally:
        wrapper.close()


@pytest.mark.django_db(transaction=True)
def test_postgresql_prepares_a_read_the_connection_repeats_only_with_the_threshold():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite prepares nothing across requests")
    prepared = _prepared_after_three_runs({"server_side_binding": True, "prepare_threshold": 2})
    assert any('"licensing_licence"' in statement for statement in prepared), prepared
    assert _prepared_after_three_runs({}) == []
