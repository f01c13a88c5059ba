"""Text messages (SMS) through a backend chosen by configuration, like Django's e-mail.

``send_sms(to, text)`` hands one message to the backend in ``KHUTWA_SMS_BACKEND``:

- ``console`` (development): writes the message to standard output;
- ``locmem`` (tests): appends it to ``khutwa.sms.outbox``;
- ``http`` (production): POSTs JSON ``{"to", "from", "text"}`` to ``KHUTWA_SMS_GATEWAY_URL``
  with ``Authorization: Bearer KHUTWA_SMS_GATEWAY_TOKEN``; any answer but 2xx raises, so the
  background task that sends it retries;
- ``dummy``: sends nothing (the demo data loads under it).

Numbers are Bahraini mobiles in E.164 (``+973`` and eight digits). Send from a background task,
never inside a request (``khutwa.sms.tasks.sms_send``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import requests
from django.conf import settings


@dataclass(frozen=True)
class Message:
    to: str
    text: str
    sender: str


#: Messages the ``locmem`` backend "sent" (tests empty it as they do ``mail.outbox``).
outbox: list[Message] = []


class SmsError(Exception):
    """The gateway refused the message or could not be reached."""


def _console(message: Message) -> None:
    """Development only (refused in production): the whole message on standard output, as
    Django's console e-mail backend does, so that a developer can read a confirmation code. The
    logs never carry it (they drop personal data)."""
    sys.stdout.write(f"SMS from {message.sender} to {message.to}\n{message.text}\n{'-' * 40}\n")
    sys.stdout.flush()


def _locmem(message: Message) -> None:
    outbox.append(message)


def _dummy(message: Message) -> None:
    return None


def _http(message: Message) -> None:
    url = settings.KHUTWA_SMS_GATEWAY_URL
    headers = {"Content-Type": "application/json"}
    if settings.KHUTWA_SMS_GATEWAY_TOKEN:
        headers["Authorization"] = f"Bearer {settings.KHUTWA_SMS_GATEWAY_TOKEN}"
    body = {"to": message.to, "from": message.sender, "text": message.text}
    try:
        response = requests.post(url, json=body, headers=headers, timeout=settings.KHUTWA_SMS_TIMEOUT)
    except requests.RequestException as exc:
        raise SmsError(f"SMS gateway unreachable: {exc.__class__.__name__}") from exc
    if not 200 <= response.status_code < 300:
        raise SmsError(f"SMS gateway answered {response.status_code}")


BACKENDS = {"console": _console, "locmem": _locmem, "http": _http, "dummy": _dummy}


def send_sms(to: str, text: str) -> None:
    """Hand one message to the configured backend (raises SmsError when the gateway refuses)."""
    message = Message(to=to, text=text, sender=settings.KHUTWA_SMS_SENDER)
    BACKENDS[settings.KHUTWA_SMS_BACKEND](message)


def sms_enabled() -> bool:
    return settings.KHUTWA_SMS_BACKEND != "dummy"
