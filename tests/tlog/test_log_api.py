"""GET /api/v1/log/…: checkpoint, inclusion and consistency proofs, entries; and the log in
GET /api/v1/verify/<id>."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.core.cache import cache

from khutwa.tlog import merkle, note, services
from khutwa.tlog.keys import log_verifier
from khutwa.tlog.models import Checkpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()  # the public rate limits


@pytest.fixture
def logged(issue, licence):
    """Three documents and the licence's issue event in the log, as two checkpoints (2, then 4)."""
    first = issue("invoice")
    services.sequence()
    second, third = issue("invoice"), issue("quotation")
    services.sequence()
    return [first, second, third]


def _checkpoint(client) -> note.Checkpoint:
    response = client.get("/api/v1/log/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    body, signers = note.open_note(response.content.decode(), [log_verifier()])
    assert signers == [log_verifier().name]
    return note.parse_checkpoint_body(body)


def test_the_checkpoint_is_the_newest_signed_note(client, logged):
    cp = _checkpoint(client)
    assert cp.size == 4
    assert cp.root.hex() == Checkpoint.objects.get(size=4).root_hash


def test_an_inclusion_proof_leads_to_the_checkpoint(client, logged):
    cp = _checkpoint(client)
    for document in logged:
        leaf = merkle.leaf_hash(services.document_entry(document).encode())
        response = client.get("/api/v1/log/proof/inclusion", {"hash": leaf.hex(), "size": cp.size})
        assert response.status_code == 200
        data = response.json()
        assert data["tree_size"] == 4 and data["leaf_hash"] == leaf.hex()
        # the entry's exact bytes come with the proof, and hash to the proven leaf
        entry = base64.b64decode(data["entry"], validate=True)
        assert entry == services.document_entry(document).encode()
        assert merkle.leaf_hash(entry) == leaf
        assert merkle.verify_inclusion(
            leaf_hash=leaf,
            index=data["index"],
            size=cp.size,
            proof=[bytes.fromhex(h) for h in data["hashes"]],
            root=cp.root,
        )
    # and in the older, smaller tree for the first document
    leaf = merkle.leaf_hash(services.document_entry(logged[0]).encode())
    data = client.get("/api/v1/log/proof/inclusion", {"hash": leaf.hex(), "size": 2}).json()
    assert merkle.verify_inclusion(
        leaf_hash=leaf,
        index=data["index"],
        size=2,
        proof=[bytes.fromhex(h) for h in data["hashes"]],
        root=bytes.fromhex(Checkpoint.objects.get(size=2).root_hash),
    )


def test_a_consistency_proof_links_the_two_checkpoints(client, logged):
    data = client.get("/api/v1/log/proof/consistency", {"from": 2, "to": 4}).json()
    assert (data["from"], data["to"]) == (2, 4)
    assert merkle.verify_consistency(
        size1=2,
        size2=4,
        proof=[bytes.fromhex(h) for h in data["hashes"]],
        root1=bytes.fromhex(Checkpoint.objects.get(size=2).root_hash),
        root2=bytes.fromhex(Checkpoint.objects.get(size=4).root_hash),
    )


def test_entries_are_the_exact_bytes(client, logged):
    data = client.get("/api/v1/log/entries", {"start": 0, "end": 10}).json()
    entries = data["entries"]
    assert [e["index"] for e in entries] == [0, 1, 2, 3]
    assert [e["kind"] for e in entries] == ["licence", "document", "document", "document"]
    raw = [base64.b64decode(e["entry"]) for e in entries]
    assert raw[1] == services.document_entry(logged[0]).encode()
    assert [merkle.leaf_hash(r).hex() for r in raw] == [e["leaf_hash"] for e in entries]
    assert merkle.root_of([merkle.leaf_hash(r) for r in raw]) == _checkpoint(client).root
    assert [
        e["index"] for e in client.get("/api/v1/log/entries", {"start": 2, "end": 3}).json()["entries"]
    ] == [2]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/log/proof/inclusion", {"size": 4}, "hash"),
        ("/api/v1/log/proof/inclusion", {"hash": "zz" * 32, "size": 4}, "hash"),
        ("/api/v1/log/proof/inclusion", {"hash": "ab" * 32}, "size"),
        ("/api/v1/log/proof/inclusion", {"hash": "ab" * 32, "size": "-1"}, "size"),
        ("/api/v1/log/proof/inclusion", {"hash": "ab" * 32, "size": "1e3"}, "size"),
        ("/api/v1/log/proof/inclusion", {"hash": "ab" * 32, "size": 5}, "size"),
        ("/api/v1/log/proof/consistency", {"from": 3, "to": 2}, "from"),
        ("/api/v1/log/proof/consistency", {"from": 2, "to": 9}, "to"),
        ("/api/v1/log/proof/consistency", {"from": "x", "to": 4}, "from"),
        ("/api/v1/log/proof/consistency", {"from": 1, "to": "9" * 30}, "to"),
        ("/api/v1/log/entries", {"start": 0}, "end"),
        ("/api/v1/log/entries", {"start": 3, "end": 3}, "end"),
        ("/api/v1/log/entries", {"start": 0, "end": 1001}, "end"),
    ],
)
def test_bad_parameters_are_a_400_naming_them_in_the_request_language(client, logged, path, params, field):
    response = client.get(path, params, HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert any("\u0600" <= ch <= "\u06ff" for ch in problem["detail"])  # Arabic


def test_an_unknown_hash_is_a_404(client, logged):
    response = client.get("/api/v1/log/proof/inclusion", {"hash": "ab" * 32, "size": 4})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_no_checkpoint_yet_is_a_404(client, db):
    response = client.get("/api/v1/log/checkpoint")
    assert response.status_code == 404


def test_the_log_endpoints_are_rate_limited(client, logged, settings):
    settings.KHUTWA_PUBLIC_RATE = "3/m"
    codes = [client.get("/api/v1/log/checkpoint").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_verify_tells_the_document_pending_then_included(client, issue, licence):
    invoice = issue("invoice")
    data = client.get(f"/api/v1/verify/{invoice.public_id}").json()
    assert data["valid"] is True
    assert data["log"] == {
        "state": "pending",
        "index": None,
        "tree_size": None,
        "checkpoint_time": None,
        "witnesses": [],
    }
    services.sequence()
    data = client.get(f"/api/v1/verify/{invoice.public_id}").json()
    assert data["valid"] is True, data["reasons"]
    checkpoint = Checkpoint.objects.get()
    assert data["log"]["state"] == "included"
    assert data["log"]["index"] == 1 and data["log"]["tree_size"] == 2
    shown = dt.datetime.fromisoformat(data["log"]["checkpoint_time"])
    assert abs(shown - checkpoint.created_at) < dt.timedelta(milliseconds=1)
