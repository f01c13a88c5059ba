"""Shared pieces of the benchmarks: a throwaway database, a gunicorn server, timed requests."""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def environment(database_url: str | None = None) -> Iterator[dict[str, str]]:
    """A fresh var dir and database, set in os.environ for this process and its children."""
    with tempfile.TemporaryDirectory(prefix="khutwa-bench-") as tmp:
        env = {
            "KHUTWA_VAR_DIR": tmp,
            "DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.sqlite3",
            "KHUTWA_MANIFEST_STATIC": "false",
            "DJANGO_SETTINGS_MODULE": "khutwa.config.settings",
            "LOG_LEVEL": "WARNING",
        }
        if is_postgres(database_url):
            # Connections kept for a minute, as scripts/cluster.sh and docs/deployment.md run
            # PostgreSQL (behind PgBouncer): with 0, every request opened one (7-11 ms and the
            # catalog reads of each table it touched), which `/healthz`, touching no table, did
            # not pay. DB_CONN_MAX_AGE set in the environment wins.
            env["DB_CONN_MAX_AGE"] = os.environ.get("DB_CONN_MAX_AGE", "60")
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for key, value in old.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@contextmanager
def fresh_postgres(server_url: str, prefix: str = "khutwa_bench") -> Iterator[str]:
    """The URL of a new, empty database on the PostgreSQL server of `server_url` (any database
    on it), dropped afterwards: `scripts/with-postgres.sh` gives a server with none made."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def is_postgres(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("postgres://", "postgresql://"))


def khutwa(*args: str) -> None:
    subprocess.run([str(BIN / "khutwa"), *args], check=True, stdout=subprocess.DEVNULL)


def migrate() -> None:
    """Bring the environment's database to the latest migrations: `khutwa migrate`, or, on
    SQLite when KHUTWA_BENCH_MIGRATED names a database that `khutwa migrate` made from nothing
    (`make bench-smoke` makes one for its four SQLite runs), a copy of it with SQLite's backup
    API: the same schema and seeded rows, without a migration (about 15 s of CPU) per run."""
    template = os.environ.get("KHUTWA_BENCH_MIGRATED", "")
    url = os.environ.get("DATABASE_URL", "")
    if not template or not url.startswith("sqlite:///"):
        khutwa("migrate", "--noinput")
        return
    import sqlite3

    source = sqlite3.connect(template)
    copy = sqlite3.connect(url[len("sqlite:///") :])
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def analyze() -> None:
    """After a bulk load, what autovacuum does on a live server within a minute or so: VACUUM
    (the visibility map that index-only scans need, GIN indexes' pending lists merged into the
    index) and ANALYZE (measured right after a load, the planner would still see the tables as
    they were before it). (SQLite's planner keeps no statistics unless asked; nothing to do.)"""
    import django

    django.setup()
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


@contextmanager
def server(workers: int = 2, timeout: int = 120, ready_within: float = 300.0) -> Iterator[int]:
    """gunicorn with the application loaded once in the master (``--preload``: config/wsgi.py
    imports the URLconf there), so a worker's first request does not import the API; on a busy
    machine that import outlasted the worker timeout and the workers were killed over and over."""
    port = free_port()
    os.environ["KHUTWA_SITE_URL"] = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "khutwa.config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--timeout",
            str(timeout),
            "--preload",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + ready_within
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz within {ready_within:.0f} s")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a worker stuck past the graceful stop
            proc.kill()
            proc.wait()


@dataclass
class Timing:
    name: str
    path: str
    median_ms: float
    p95_ms: float
    status: int
    bytes: int


def measure(
    port: int, name: str, path: str, *, cookie: str = "", requests: int = 100, warmup: int = 5
) -> Timing:
    """Sequential requests on one keep-alive connection; latency in milliseconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    samples: list[float] = []
    status, size = 0, 0
    for i in range(warmup + requests):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        status, size = response.status, len(body)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}")
        if i >= warmup:
            samples.append(elapsed)
    samples.sort()
    return Timing(name, path, statistics.median(samples), samples[int(len(samples) * 0.95) - 1], status, size)


def report(title: str, floor: Timing, timings: list[Timing], extra: dict[str, object]) -> dict[str, object]:
    print(f"\n{title}")
    print(f"{'page':<34}{'median ms':>11}{'p95 ms':>10}{'× floor':>10}")
    rows = []
    for t in [floor, *timings]:
        ratio = t.median_ms / floor.median_ms
        print(f"{t.name:<34}{t.median_ms:>11.2f}{t.p95_ms:>10.2f}{ratio:>10.2f}")
        rows.append({**t.__dict__, "ratio_to_floor": round(ratio, 3)})
    for key, value in extra.items():
        print(f"  {key}: {value}")
    result = {"title": title, "floor": floor.name, "rows": rows, **extra}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{title.split()[0].lower()}.json").write_text(json.dumps(result, indent=2, default=str))
    return result
