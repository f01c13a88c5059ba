"""A real HTTP receiver on 127.0.0.1 that verifies Standard Webhooks signatures as an
integrator would, and the people of a support flow (from tests/support)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.conftest import (  # noqa: F401 - fixtures
    book,
    claimant,
    finance,
    officer,
    programme,
    supplier,
    world,
)


class Receiver:
    """Records every request; answers 204 when the signature verifies with one of `secrets`
    (401 otherwise), or `fail_next` times 500 (a long body), or a redirect to `redirect_to`."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.redirect_to = ""
        self.delay = 0.0  # seconds before answering
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True
        return False

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = receiver.verify(body, headers)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.received.append(
                        {
                            "id": headers.get("webhook-id"),
                            "headers": headers,
                            "body": body,
                            "verified": verified,
                            "payload": json.loads(body),
                            "path": self.path,
                        }
                    )
                    fail = receiver.fail_next > 0
                    receiver.fail_next -= 1 if fail else 0
                if not verified:
                    self.send_response(401)
                    self.end_headers()
                elif fail:
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"boom " * 400)
                elif receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                    self.end_headers()
                else:
                    self.send_response(204)
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def ids(self) -> list[str]:
        return [r["id"] for r in self.received]

    def types(self) -> list[str]:
        return [r["payload"]["type"] for r in self.received]


@pytest.fixture
def receivers():  # type: ignore[no-untyped-def]
    """Start receivers on demand (`receivers()`); all are stopped after the test."""
    started: list[Receiver] = []

    def _start() -> Receiver:
        receiver = Receiver().start()
        started.append(receiver)
        return receiver

    yield _start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(receivers):  # type: ignore[no-untyped-def]
    return receivers()
