"""The shared cache over a real Redis: rate limits hold across threads, workers and two servers
(an atomic count); sessions live in the database behind the cache, so a Redis restart logs
nobody out; with Redis away requests are still answered (limits let through, logged)."""

import logging
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from bench.harness import free_port
from django.core.cache import caches

from khutwa import ratelimit
from tests.config.test_settings import environment_for
from tests.processes import migrate


@pytest.fixture
def redis_cache(settings, redis_server):
    settings.CACHES = {
        "default": {
            "BACKEND": "khutwa.ops.cache.ResilientRedisCache",
            "LOCATION": redis_server.url,
            "KEY_PREFIX": uuid.uuid4().hex,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    yield caches["default"]


def test_a_limit_holds_exactly_under_parallel_attempts(redis_cache, settings, monkeypatch, caplog):
    settings.KHUTWA_PUBLIC_RATE = "10/m"
    # One window for every attempt (a busy machine may otherwise cross a minute's boundary), and
    # no attempt let through for a slow answer: a Redis call that timed out would be logged.
    monkeypatch.setattr(ratelimit, "_clock", lambda: 1_800_000_030.0)
    caplog.set_level(logging.WARNING, logger="khutwa.ratelimit")
    default = settings.CACHES["default"]
    settings.CACHES = {"default": {**default, "OPTIONS": {**default["OPTIONS"], "socket_timeout": 10}}}
    results: list[bool] = []
    barrier = threading.Barrier(40)

    def attempt() -> None:
        barrier.wait()
        results.append(ratelimit.allow("verify", "192.0.2.7"))

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [r for r in caplog.records if "not counted" in r.getMessage()], "Redis answered too slowly"
    assert results.count(True) == 10
    # Refused attempts were not counted: the count is the rate, not 40.
    assert ratelimit.exhausted("verify", "192.0.2.7")


@pytest.mark.django_db
def test_with_redis_away_requests_are_answered_and_the_log_says_why(
    settings, client, caplog, django_user_model
):
    dead = free_port()
    settings.CACHES = {
        "default": {
            "BACKEND": "khutwa.ops.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{dead}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with caplog.at_level(logging.WARNING):
        response = client.get(f"/api/v1/verify/{uuid.uuid4()}")
    assert response.status_code == 404  # answered (no such document), not a 500
    assert any("rate limit not counted" in r.getMessage() for r in caplog.records)
    # Sessions: written to the database whatever the cache does.
    user = django_user_model.objects.create_user(username="amal", password="x-long-password-1")
    client.force_login(user)
    assert client.get("/en/").context["user"].username == "amal"


def _serve(tmp_path: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """One gunicorn node with one worker (two nodes are the point here, not two workers)."""
    log = (tmp_path / f"server-{port}.log").open("wb")
    return subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "khutwa.config.wsgi:application",
            "-c",
            "python:khutwa.config.gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait(port: int, tmp_path: Path) -> None:
    deadline = time.monotonic() + 180  # a worker boots in seconds, in a minute on a loaded machine
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no server on {port}: {(tmp_path / f'server-{port}.log').read_text()[-2000:]}")


def test_two_servers_share_one_limit_and_a_redis_restart_logs_nobody_out(tmp_path, redis_server):
    env = environment_for(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'site.sqlite3'}",
        KHUTWA_REDIS_URL=redis_server.url,
        KHUTWA_PUBLIC_RATE="6/m",
        KHUTWA_SITE_URL="http://127.0.0.1",
        KHUTWA_MANIFEST_STATIC="false",  # no collectstatic needed for these pages
    )
    migrate(env)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "khutwa.cli",
            "shell",
            "-c",
            "from khutwa.accounts.models import User;"
            "User.objects.create_user(username='amal', password='x-long-password-1')",
        ],
        env=env,
        check=True,
        timeout=60,
    )
    ports = [free_port(), free_port()]
    servers = [_serve(tmp_path, env, port) for port in ports]
    try:
        for port in ports:
            _wait(port, tmp_path)
        statuses = [
            requests.get(
                f"http://127.0.0.1:{ports[i % 2]}/api/v1/verify/{uuid.uuid4()}", timeout=10
            ).status_code
            for i in range(9)
        ]
        # Six answered (no such document), alternately by each server; then refused by both.
        assert statuses == [404] * 6 + [429] * 3

        session = requests.Session()
        login = session.get(f"http://127.0.0.1:{ports[0]}/en/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
        assert token is not None, (login.status_code, login.url, login.text[:3000])
        answer = session.post(
            f"http://127.0.0.1:{ports[0]}/en/login/",
            data={"username": "amal", "password": "x-long-password-1", "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": f"http://127.0.0.1:{ports[0]}/en/login/"},
            timeout=10,
            allow_redirects=False,
        )
        assert answer.status_code == 302
        assert "amal" in session.get(f"http://127.0.0.1:{ports[1]}/en/", timeout=10).text

        redis_server.stop()
        # Redis away: both servers answer; the session is read from the database.
        assert "amal" in session.get(f"http://127.0.0.1:{ports[1]}/en/", timeout=10).text
        assert (
            requests.get(f"http://127.0.0.1:{ports[0]}/api/v1/verify/{uuid.uuid4()}", timeout=10).status_code
            == 404
        )
        redis_server.start()
        # Back: still signed in on both; the limit counts afresh (its counts went with Redis).
        for port in ports:
            assert "amal" in session.get(f"http://127.0.0.1:{port}/en/", timeout=10).text
        assert (
            requests.get(f"http://127.0.0.1:{ports[1]}/api/v1/verify/{uuid.uuid4()}", timeout=10).status_code
            == 404
        )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
