"""C2SP tlog-tiles at /api/v1/log/tile/…: hash tiles and entry bundles, full and partial."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from khutwa.tlog import merkle, services
from khutwa.tlog.models import Pending

pytestmark = pytest.mark.django_db

SIZE = 300
TEXTS = [f"khutwa-licence/v1\nKH-2026-{i:06d}\nrenewed\n2026-12-01T00:00:00Z\n" for i in range(SIZE)]
LEAVES = [merkle.leaf_hash(t.encode()) for t in TEXTS]


@pytest.fixture
def log(db):
    cache.clear()
    now = timezone.now()
    Pending.objects.bulk_create([Pending(kind="licence", entry=t, queued_at=now) for t in TEXTS])
    services.sequence()


def test_full_and_partial_hash_tiles(client, log):
    full = client.get("/api/v1/log/tile/0/000")
    assert full.status_code == 200 and full["Content-Type"] == "application/octet-stream"
    assert full.content == b"".join(LEAVES[:256])
    assert "immutable" in full["Cache-Control"]
    partial = client.get("/api/v1/log/tile/0/001.p/44")
    assert partial.content == b"".join(LEAVES[256:300])
    # level 1 holds the hashes of complete subtrees of 256 leaves
    assert client.get("/api/v1/log/tile/1/000.p/1").content == merkle.root_of(LEAVES[:256])
    # the tiles give the checkpoint's root, as a mirror would compute it
    assert merkle.root_of(LEAVES) == bytes.fromhex(services.Checkpoint.objects.get(size=SIZE).root_hash)


def test_entry_bundles(client, log):
    bundle = client.get("/api/v1/log/tile/entries/001.p/44").content
    texts, at = [], 0
    while at < len(bundle):
        length = int.from_bytes(bundle[at : at + 2], "big")
        texts.append(bundle[at + 2 : at + 2 + length].decode())
        at += 2 + length
    assert texts == TEXTS[256:300]


@pytest.mark.parametrize("path", ["0/001", "0/001.p/45", "1/000", "0/x001/000"])
def test_tiles_beyond_the_checkpoint_are_404(client, log, path):
    response = client.get(f"/api/v1/log/tile/{path}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path", ["0/1", "0/000.p/0", "0/000.p/256", "64/000", "x/000", "0/001/002", "entries/"]
)
def test_malformed_tile_paths_are_400(client, log, path):
    response = client.get(f"/api/v1/log/tile/{path}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["tile"]
