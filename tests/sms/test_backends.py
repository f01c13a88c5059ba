"""The SMS backends: the HTTP gateway against a real server on loopback, the others in memory."""

from __future__ import annotations

import pytest

from khutwa import sms
from khutwa.sms.tasks import sms_on_commit


def test_http_gateway_receives_the_message_with_the_token(sms_gateway):  # type: ignore[no-untyped-def]
    sms.send_sms("+97333123456", "رمز التأكيد 123456")
    assert sms_gateway.received == [
        {
            "to": "+97333123456",
            "from": "Khutwa",
            "text": "رمز التأكيد 123456",
            "authorization": "Bearer gateway-token",
        }
    ]


def test_http_gateway_refusal_raises_so_the_task_retries(sms_gateway):  # type: ignore[no-untyped-def]
    sms_gateway.status = 503
    with pytest.raises(sms.SmsError, match="503"):
        sms.send_sms("+97333123456", "hello")


def test_unreachable_gateway_raises(settings):  # type: ignore[no-untyped-def]
    from bench.harness import free_port

    settings.KHUTWA_SMS_BACKEND = "http"
    settings.KHUTWA_SMS_GATEWAY_URL = f"http://127.0.0.1:{free_port()}/send"
    with pytest.raises(sms.SmsError, match="unreachable"):
        sms.send_sms("+97333123456", "hello")


def test_locmem_collects_and_dummy_drops(settings):  # type: ignore[no-untyped-def]
    sms.send_sms("+97333123456", "one")
    assert [m.text for m in sms.outbox] == ["one"]
    settings.KHUTWA_SMS_BACKEND = "dummy"
    sms.send_sms("+97333123456", "two")
    assert [m.text for m in sms.outbox] == ["one"]


@pytest.mark.django_db(transaction=True)
def test_sent_after_commit_only(settings):  # type: ignore[no-untyped-def]
    from django.db import transaction

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with pytest.raises(RuntimeError), transaction.atomic():
        sms_on_commit(to="+97333123456", text="rolled back")
        raise RuntimeError
    with transaction.atomic():
        sms_on_commit(to="+97333123456", text="committed")
        assert sms.outbox == []
    assert [m.text for m in sms.outbox] == ["committed"]


def test_console_writes_the_whole_message_for_the_developer(settings, capsys):  # type: ignore[no-untyped-def]
    settings.KHUTWA_SMS_BACKEND = "console"
    sms.send_sms("+97336001234", "Khutwa: your confirmation code is 123456.")
    out = capsys.readouterr().out
    assert "to +97336001234" in out and "123456" in out
