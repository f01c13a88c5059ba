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


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_witnesses_that_have_seen_the_document_are_named(client, issue, licence, lang, settings):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from khutwa.tlog.cosignatures import cosignature_add
    from khutwa.tlog.note import Signer, cosign, split_note

    witness = Signer("tamkeen.example/witness", Ed25519PrivateKey.generate())
    settings.KHUTWA_LOG_WITNESSES = [witness.cosigner_vkey]
    invoice = issue("invoice")
    services.sequence()
    _state, text = _log_cell(client, lang, invoice)
    assert "tamkeen.example/witness" not in text  # not cosigned yet
    assert client.get(f"/api/v1/verify/{invoice.public_id}").json()["log"]["witnesses"] == []
    checkpoint = Checkpoint.objects.get()
    body, _lines = split_note(checkpoint.note)
    cosign_time = 1_764_633_600  # 2025-12-02 00:00:00 UTC
    cosignature_add(size=checkpoint.size, line=cosign(body, witness, cosign_time))
    _state, text = _log_cell(client, lang, invoice)
    assert '<bdi dir="ltr">tamkeen.example/witness</bdi>' in text
    if lang == "en":
        assert "Seen by the witness" in text and "<bdi>2025-12-02 03:00:00</bdi>" in text
    else:
        assert "رآه الشاهد" in text
    seen = client.get(f"/api/v1/verify/{invoice.public_id}").json()["log"]["witnesses"]
    assert seen == [
        {
            "name": "tamkeen.example/witness",
            "checkpoint_size": checkpoint.size,
            "cosigned_at": "2025-12-02T00:00:00Z",
        }
    ]
