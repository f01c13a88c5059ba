"""/readyz checks the database, the shared cache and that workers keep up with the task
queue; logs are JSON lines with the request id and no personal data."""

import datetime as dt
import io
import json
import logging

import pytest
from bench.harness import free_port
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from khutwa.ops.logs import logging_config
from tests.ops import tasks_for_tests


@pytest.mark.django_db
def test_ready_when_database_cache_and_queue_are(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["cache"] == "ok"
    assert body["tasks"] == {"status": "ok", "ready": 0, "oldest_seconds": 0.0}


@pytest.mark.django_db
def test_not_ready_when_tasks_wait_too_long(client, settings):
    settings.KHUTWA_READY_TASK_LAG = 60
    tasks_for_tests.noop.enqueue()
    assert client.get("/readyz").json()["tasks"]["ready"] == 1
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(seconds=61))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["tasks"]["status"] == "lagging"
    # A task due later is not lag.
    DBTaskResult.objects.update(run_after=timezone.now() + dt.timedelta(hours=1))
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_not_ready_without_the_shared_cache(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "khutwa.ops.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["cache"] == "unavailable"
    assert client.get("/healthz").status_code == 200  # alive all the same


@pytest.fixture
def log_lines():
    """Everything logged during the test, formatted as production formats it."""
    stream = io.StringIO()
    config = logging_config("INFO", "json")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_formatter(config))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _formatter(config):
    spec = dict(config["formatters"]["structured"])
    factory = spec.pop("()")
    return factory(**spec)


@pytest.mark.django_db
def test_each_request_is_one_json_line_with_its_id_and_no_personal_data(client, log_lines, make_user):
    make_user(username="890101001", cpr="890101001")
    client.post(
        "/en/login/",
        {"username": "890101001", "password": "wrong-password"},
        HTTP_X_REQUEST_ID="req-0123456789",
    )
    client.get("/en/activities/", HTTP_X_REQUEST_ID="req-abcdefghij")
    lines = log_lines()
    requests = [line for line in lines if line["event"] == "request"]
    assert [(r["request_id"], r["method"], r["status"]) for r in requests] == [
        ("req-0123456789", "POST", 200),
        ("req-abcdefghij", "GET", 200),
    ]
    assert requests[0]["route"].endswith("login/") and requests[1]["route"].endswith("activities/")
    assert all({"timestamp", "level", "logger", "duration_ms"} <= set(r) for r in requests)
    everything = "\n".join(json.dumps(line) for line in lines)
    assert "890101001" not in everything and "wrong-password" not in everything


@pytest.mark.django_db
@pytest.mark.parametrize("status, path", [(200, "/healthz"), (404, "/api/v1/no-such-thing")])
def test_the_request_line_is_the_line_structlog_writes(client, log_lines, status, path):
    """The middleware writes the request line without structlog's bound logger: the same line
    (keys, values, level, logger) as `request_log.log(...)` writes for the same fields."""
    from khutwa.ops.logs import request_log

    response = client.get(path, HTTP_X_REQUEST_ID="req-line-00001")
    assert response.status_code == status
    written = next(line for line in log_lines() if line["event"] == "request")
    from khutwa.audit.context import current_request_id

    token = current_request_id.set("req-line-00001")
    try:
        fields = {k: written[k] for k in ("method", "route", "status", "duration_ms")}
        request_log.log(logging.INFO, "request", **fields)
    finally:
        current_request_id.reset(token)
    through_structlog = [line for line in log_lines() if line["event"] == "request"][-1]
    assert set(written) == set(through_structlog)
    assert {k: v for k, v in written.items() if k != "timestamp"} == {
        k: v for k, v in through_structlog.items() if k != "timestamp"
    }
    assert written["timestamp"].endswith("Z")


@pytest.mark.django_db
def test_the_request_line_goes_around_structlogs_bound_logger(client, log_lines, monkeypatch):
    """About 40 % of a line's CPU was structlog's bound logger (a context copy, the level filter,
    positional arguments, stack info, the wrapping); the line now skips it, and when the level
    is off nothing is built at all."""
    import structlog

    bound = []
    original = structlog.stdlib.BoundLogger._proxy_to_logger

    def counted(self, *args, **kwargs):
        bound.append(args[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(structlog.stdlib.BoundLogger, "_proxy_to_logger", counted)
    client.get("/healthz")
    assert [line["route"] for line in log_lines() if line["event"] == "request"] == ["healthz"]
    assert bound == []
    logging.getLogger("khutwa.request").setLevel(logging.WARNING)
    try:
        client.get("/healthz")
    finally:
        logging.getLogger("khutwa.request").setLevel(logging.NOTSET)
    assert [line["route"] for line in log_lines() if line["event"] == "request"] == ["healthz"]
