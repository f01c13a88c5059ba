"""The verification page tells where the document is in the public log, in both languages."""

from __future__ import annotations

import html
import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from khutwa.tlog import services
from khutwa.tlog.models import Checkpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()


def _log_cell(client, lang: str, document) -> tuple[str, str]:
    page = html.unescape(client.get(f"/{lang}/verify/{document.public_id}").content.decode())
    match = re.search(r'<dd class="col-sm-8" id="log" data-log-state="(\w+)">(.*?)</dd>', page, re.S)
    assert match, page
    return match[1], " ".join(match[2].split())


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_pending_then_included(client, issue, licence, lang):
    invoice = issue("invoice")
    state, text = _log_cell(client, lang, invoice)
    assert state == "pending"
    if lang == "en":
        assert "Not yet in the public log (it is added within <bdi>10</bdi> seconds)." in text
    services.sequence()
    state, text = _log_cell(client, lang, invoice)
    assert state == "included"
    when = timezone.localtime(Checkpoint.objects.get().created_at).strftime("%Y-%m-%d %H:%M:%S")
    assert "<bdi>1</bdi>" in text and f"<bdi>{when}</bdi>" in text and "<bdi>2</bdi>" in text
    if lang == "en":
        expected = f"In the public log as entry <bdi>1</bdi>; checkpoint of <bdi>{when}</bdi>"
        assert text.startswith(f"{expected} (tree size <bdi>2</bdi>)")
