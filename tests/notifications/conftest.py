"""A real SMTP server (aiosmtpd) on loopback (the SMS gateway stub is tests/sms/gateway.py); the
support world."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import pytest

from tests.sms.gateway import sms_gateway  # noqa: F401 - fixture
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
