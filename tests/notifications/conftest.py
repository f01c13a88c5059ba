"""A real SMTP server (aiosmtpd) and an SMS gateway stub on loopback; the support world."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.conftest import (  # noqa: F401 - fixtures
    _keys,
    book,
    claimant,
    finance,
    officer,
    programme,
    quotation,
    supplier,
    world,
)


class Inbox:
    """What the SMTP server accepted: (envelope sender, recipients, parsed message)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):  # type: ignore[no-untyped-def]
    """An SMTP server on 127.0.0.1 and a free port; Django's SMTP backend points at it."""
    from aiosmtpd.controller import Controller
    from bench.harness import free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "Khutwa <khutwa@example.bh>"
    yield inbox
    controller.stop()


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append({**body, "authorization": self.headers.get("Authorization", "")})
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def sms_gateway(settings):  # type: ignore[no-untyped-def]
    """The HTTP gateway backend against a stub server on loopback."""
    _Gateway.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.KHUTWA_SMS_BACKEND = "http"
    settings.KHUTWA_SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_address[1]}/send"
    settings.KHUTWA_SMS_GATEWAY_TOKEN = "gateway-token"
    yield _Gateway
    server.shutdown()
    server.server_close()
