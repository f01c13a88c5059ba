"""docs/document-format.md stays true: its worked example is recomputed from the page, and
its stand-alone verifier snippet verifies the example's QR content."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from khutwa.trust.canonical import b64url_encode, canonical_json
from khutwa.trust.qr import qr_content, qr_version
from khutwa.trust.seal import key_id, seal_payload, seal_string
from khutwa.trust.verify import verify_document, verify_qr

DOC = Path(__file__).resolve().parents[2] / "docs" / "document-format.md"
TEXT = DOC.read_text(encoding="utf-8")


def block(info: str) -> str:
    match = re.search(rf"```{re.escape(info)}\n(.*?)```", TEXT, re.S)
    assert match, info
    return match.group(1)


def computed_line(label: str) -> str:
    match = re.search(rf"^{re.escape(label)}:\s+(\S+)$", TEXT, re.M)
    assert match, label
    return match.group(1)


PAYLOAD: dict[str, Any] = json.loads(block("json example-payload"))
SEED = bytes.fromhex(computed_line("seed (hex)"))
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
KID = key_id(KEY.public_key())
JWKS = json.loads(re.search(r'```json\n(\{"keys": \[\{"kty".*?)```', TEXT, re.S).group(1))  # type: ignore[union-attr]


def test_the_example_key() -> None:
    assert hashlib.sha256(b"khutwa document-format example key").digest() == SEED
    assert computed_line("kid") == KID
    assert JWKS["keys"][0]["kid"] == KID and JWKS["keys"][0]["x"] == computed_line("x")


def test_the_worked_example_is_what_the_code_computes() -> None:
    canonical = canonical_json(PAYLOAD)
    assert canonical == rfc8785.dumps(PAYLOAD)
    assert canonical.decode() in TEXT
    assert f"RFC 8785; {len(canonical)} bytes of UTF-8" in TEXT
    facts, signature = seal_payload(PAYLOAD, KID, KEY)
    assert computed_line("hash (hex)") == facts.hash == hashlib.sha256(canonical).hexdigest()
    assert computed_line("hash (b64url)") == b64url_encode(bytes.fromhex(facts.hash))
    assert re.search(r"^seal:\s+(.+)$", TEXT, re.M).group(1) == seal_string(facts)  # type: ignore[union-attr]
    assert computed_line("signature") == signature
    content = qr_content("https://khutwa.example.bh", PAYLOAD["public_id"], facts, signature)
    assert computed_line("QR content") == content
    assert f"{len(content)} characters, version {qr_version(content)} at error correction M" in TEXT
    assert verify_qr(content, JWKS, payload=PAYLOAD).valid
    assert verify_document(PAYLOAD, signature, KID, JWKS).valid


def test_the_standalone_verifier_snippet_works() -> None:
    namespace: dict[str, Any] = {}
    exec(block("python"), namespace)  # noqa: S102 - the page's own example code
    content = computed_line("QR content")
    fields = namespace["verify_qr"](content, JWKS)
    assert fields[1:8] == [
        "INV",
        "INV-2026-000045",
        "KH-2026-000166",
        "2026-11-27",
        "12.345",
        "0.000",
        computed_line("hash (b64url)"),
    ]
    forged = content.replace("~12.345~", "~92.345~")
    with pytest.raises(InvalidSignature):
        namespace["verify_qr"](forged, JWKS)
