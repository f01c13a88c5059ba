"""The log's key in the JWKS, and witnesses' cosignatures received by POST /api/v1/log/cosignatures."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from khutwa.audit.models import AuditEvent
from khutwa.documents import verification
from khutwa.documents.signing import key_store
from khutwa.tlog.keys import log_signer, log_vkey
from khutwa.tlog.models import Checkpoint, Cosignature
from khutwa.tlog.note import Checkpoint as CheckpointBody
from khutwa.tlog.note import Signer, Verifier, checkpoint_body, cosign, open_note_signatures, sign_note
from khutwa.tlog.selectors import cosigned_note

URL = "/api/v1/log/cosignatures"
WITNESS = Signer("tamkeen.example/witness", Ed25519PrivateKey.generate())
STRANGER = Signer("tamkeen.example/witness", Ed25519PrivateKey.generate())  # same name, another key


@pytest.fixture(autouse=True)
def _witnesses(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.KHUTWA_LOG_WITNESSES = [WITNESS.cosigner_vkey]
    verification._cached.clear()
    yield
    verification._cached.clear()


def _checkpoint(size: int = 3) -> Checkpoint:
    body = checkpoint_body(CheckpointBody(log_signer().name, size, hashlib.sha256(b"%d" % size).digest()))
    return Checkpoint.objects.create(
        size=size,
        root_hash=hashlib.sha256(b"%d" % size).hexdigest(),
        note=sign_note(body, [log_signer()]),
        created_at=timezone.now(),
    )


def _body(checkpoint: Checkpoint) -> str:
    return checkpoint.note.split("\n\n")[0] + "\n"


def test_the_log_key_is_published_and_distinct_from_the_document_key(client) -> None:  # type: ignore[no-untyped-def]
    keys = json.loads(client.get("/.well-known/khutwa-keys.json").content)
    tlog = keys["tlog"]
    assert tlog["use"] == "tlog" and tlog["kty"] == "OKP" and tlog["crv"] == "Ed25519"
    assert tlog["vkey"] == log_vkey() and tlog["origin"] == "127.0.0.1:8000/log"
    assert tlog["witnesses"] == [WITNESS.cosigner_vkey]
    assert tlog["x"] not in {key["x"] for key in keys["keys"]}
    _kid, document_key = key_store().active_signing_key()
    assert Verifier.from_vkey(tlog["vkey"]).public_key.public_bytes_raw() != (
        document_key.public_key().public_bytes_raw()
    )


def test_the_log_key_survives_a_restart() -> None:
    before = log_vkey()
    from khutwa.tlog import keys

    keys._cache.clear()  # a new process
    assert log_vkey() == before


@pytest.mark.django_db
def test_a_witness_cosignature_is_stored_and_served_with_the_checkpoint(client) -> None:  # type: ignore[no-untyped-def]
    checkpoint = _checkpoint()
    line = cosign(_body(checkpoint), WITNESS, 1_764_633_600)
    response = client.post(URL, {"size": 3, "signature": line}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json() == {
        "size": 3,
        "witness": WITNESS.name,
        "timestamp": 1_764_633_600,
        "created": True,
    }
    assert AuditEvent.objects.filter(action="tlog.cosignature_add").count() == 1
    note = cosigned_note(checkpoint)
    _text, signatures = open_note_signatures(
        note, [Verifier.from_vkey(log_vkey()), Verifier.from_vkey(WITNESS.cosigner_vkey)]
    )
    assert [(s.name, s.timestamp) for s in signatures] == [
        (log_signer().name, None),
        (WITNESS.name, 1_764_633_600),
    ]
    # sent again (or a later cosignature of the same checkpoint): nothing new is stored
    again = client.post(
        URL,
        {"size": 3, "signature": cosign(_body(checkpoint), WITNESS, 1_764_633_700)},
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["created"] is False
    assert Cosignature.objects.count() == 1 and cosigned_note(checkpoint) == note


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "status", "field"),
    [
        ("not a configured witness", 403, "signature"),
        ("over another checkpoint", 400, "signature"),
        ("garbage", 400, "signature"),
        ("two lines", 400, "signature"),
        ("unknown size", 404, "size"),
        ("a log signature, not a cosignature", 403, "signature"),
    ],
)
def test_bad_cosignatures_are_refused_naming_the_field(client, case, status, field) -> None:  # type: ignore[no-untyped-def]
    checkpoint, other = _checkpoint(3), _checkpoint(4)
    size, line = 3, cosign(_body(checkpoint), WITNESS, 1_764_633_600)
    if case == "not a configured witness":
        line = cosign(_body(checkpoint), STRANGER, 1_764_633_600)
    elif case == "over another checkpoint":
        line = cosign(_body(other), WITNESS, 1_764_633_600)
    elif case == "garbage":
        line = "\u2014 tamkeen.example/witness not-base64!"
    elif case == "two lines":
        line = line + line
    elif case == "unknown size":
        size = 99
    elif case == "a log signature, not a cosignature":
        line = WITNESS.signature_line(_body(checkpoint))
    response = client.post(
        URL, {"size": size, "signature": line}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="ar"
    )
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert Cosignature.objects.count() == 0
    assert cosigned_note(checkpoint) == checkpoint.note


@pytest.mark.django_db
def test_a_cosignature_without_a_size_names_the_field(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(URL, {"signature": "x"}, content_type="application/json")
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["size"]


@pytest.mark.django_db
def test_entry_witnesses_names_who_cosigned_a_checkpoint_holding_the_entry() -> None:
    from khutwa.tlog.cosignatures import cosignature_add
    from khutwa.tlog.selectors import entry_witnesses

    small, large = _checkpoint(3), _checkpoint(6)
    cosignature_add(size=6, line=cosign(_body(large), WITNESS, 1_764_633_660))
    assert [(s.witness, s.size) for s in entry_witnesses(4)] == [(WITNESS.name, 6)]
    assert entry_witnesses(6) == []  # not in any cosigned checkpoint yet
    cosignature_add(size=3, line=cosign(_body(small), WITNESS, 1_764_633_600))
    sightings = entry_witnesses(1)
    assert [(s.witness, s.size) for s in sightings] == [(WITNESS.name, 3)]
    assert sightings[0].cosigned_at.isoformat() == "2025-12-02T00:00:00+00:00"
