"""An SMS gateway on loopback for the `http` backend: a real HTTP server that records each POST."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Gateway(BaseHTTPRequestHandler):
    #: Each message received: its JSON body and the Authorization header.
    received: list[dict[str, Any]] = []
    #: The status the gateway answers with.
    status = 202

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append({**body, "authorization": self.headers.get("Authorization", "")})
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def sms_gateway(settings):  # type: ignore[no-untyped-def]
    """The HTTP gateway backend configured against a stub server on 127.0.0.1."""
    Gateway.received = []
    Gateway.status = 202
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.KHUTWA_SMS_BACKEND = "http"
    settings.KHUTWA_SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_address[1]}/send"
    settings.KHUTWA_SMS_GATEWAY_TOKEN = "gateway-token"
    settings.KHUTWA_SMS_SENDER = "Khutwa"
    yield Gateway
    server.shutdown()
    server.server_close()
