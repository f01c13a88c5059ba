"""The read-replica router's decisions (config/routers.py); the real replica is exercised by
tests/cluster (make test-cluster)."""

from __future__ import annotations

import json
import subprocess

import pytest
from django.db import OperationalError, router
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from khutwa.config import routers
from khutwa.documents.models import Document
from tests.config.test_settings import run_python

factory = RequestFactory()


@pytest.fixture
def replica(monkeypatch):
    """A replica is configured (the decisions only; no second database is opened) and up."""
    monkeypatch.setattr(routers, "replica_configured", lambda: True)
    monkeypatch.setattr(routers, "_replica_down_until", 0.0)


def recording_view(calls: list[str], *, fail_on_replica: bool = False):  # type: ignore[no-untyped-def]
    """A view that notes where its reads go, and fails like an unreachable replica if asked."""

    @routers.replica_read
    def view(request: HttpRequest) -> HttpResponse:
        where = router.db_for_read(Document)
        calls.append(where)
        if fail_on_replica and where == routers.REPLICA:
            raise OperationalError("connection refused")
        return HttpResponse(where)

    return view


def test_without_a_replica_every_read_goes_to_the_primary():
    calls: list[str] = []
    response = recording_view(calls)(factory.get("/verify/x"))
    assert calls == ["default"] and response.content == b"default"
    with routers.on_replica():
        assert router.db_for_read(Document) == "default"


def test_a_public_read_goes_to_the_replica_and_writes_to_the_primary(replica):
    calls: list[str] = []

    @routers.replica_read
    def view(request: HttpRequest) -> HttpResponse:
        calls.extend([router.db_for_read(Document), router.db_for_write(Document)])
        return HttpResponse()

    view(factory.get("/verify/x"))
    assert calls == [routers.REPLICA, "default"]
    # Outside the marked view, reads are the primary's again.
    assert router.db_for_read(Document) == "default"


def test_a_client_that_wrote_a_moment_ago_reads_from_the_primary(replica):
    calls: list[str] = []
    view = recording_view(calls)
    request = factory.get("/verify/x")
    request.COOKIES[routers.PIN_COOKIE] = "1"
    view(request)
    view(factory.post("/verify/x"))
    assert calls == ["default", "default"]


def test_an_unreachable_replica_is_answered_from_the_primary_then_left_alone(replica, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(routers.time, "monotonic", lambda: now[0])
    calls: list[str] = []
    view = recording_view(calls, fail_on_replica=True)

    response = view(factory.get("/verify/x"))

    assert response.status_code == 200 and response.content == b"default"
    assert calls == [routers.REPLICA, "default"]
    # The next reads do not try the replica again until the retry interval has passed ...
    calls.clear()
    now[0] += 29
    view(factory.get("/verify/x"))
    assert calls == ["default"]
    # ... and then they do.
    calls.clear()
    now[0] += 2
    recording_view(calls)(factory.get("/verify/x"))
    assert calls == [routers.REPLICA]


def test_a_failing_primary_is_not_hidden(replica):
    request = factory.get("/verify/x")
    request.COOKIES[routers.PIN_COOKIE] = "1"

    @routers.replica_read
    def view(request: HttpRequest) -> HttpResponse:
        raise OperationalError("primary down")

    with pytest.raises(OperationalError):
        view(request)


def test_migrations_run_on_the_primary_only():
    assert routers.ReplicaRouter().allow_migrate("default", "documents") is True
    assert routers.ReplicaRouter().allow_migrate(routers.REPLICA, "documents") is False


@pytest.mark.parametrize(
    ("method", "pinned"), [("post", True), ("delete", True), ("get", False), ("head", False)]
)
def test_a_write_pins_the_client_to_the_primary_for_a_while(replica, settings, method, pinned):
    settings.KHUTWA_REPLICA_PIN_SECONDS = 7
    middleware = routers.PrimaryPinMiddleware(lambda request: HttpResponse())
    response = middleware(getattr(factory, method)("/ar/documents/new"))
    cookie = response.cookies.get(routers.PIN_COOKIE)
    if pinned:
        assert cookie is not None and cookie["max-age"] == 7 and cookie["httponly"]
    else:
        assert cookie is None


def test_without_a_replica_no_pin_cookie_is_set():
    middleware = routers.PrimaryPinMiddleware(lambda request: HttpResponse())
    assert routers.PIN_COOKIE not in middleware(factory.post("/ar/documents/new")).cookies


SHOW = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps({k: v.get('TEST', {}).get('MIRROR') for k, v in settings.DATABASES.items()}))"
)


def _settings_with(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_python(tmp_path, SHOW, **env)


def test_a_replica_url_adds_the_replica_database_mirrored_in_tests(tmp_path):
    result = _settings_with(
        tmp_path,
        DATABASE_URL="postgres://khutwa@db1/khutwa",
        DATABASE_REPLICA_URL="postgres://khutwa@db2/khutwa",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["replica"] == "default"


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_REPLICA_URL": "postgres://khutwa@db2/khutwa"},  # beside the SQLite default
        {"DATABASE_URL": "postgres://khutwa@db1/khutwa", "DATABASE_REPLICA_URL": "mysql://u@h/db"},
    ],
)
def test_a_replica_that_cannot_be_one_is_refused_by_name(tmp_path, env):
    result = _settings_with(tmp_path, **env)
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL" in result.stderr
