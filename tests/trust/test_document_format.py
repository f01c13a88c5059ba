"""docs/document-format.md stays true: its worked examples (payload v1 sealed KW1, payload v2
sealed KW2) are recomputed from the page, and its stand-alone verifier snippet verifies both
examples' QR content."""

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
from khutwa.trust.qr import qr_content, qr_version, seal_param
from khutwa.trust.seal import key_id, seal_payload, seal_string
from khutwa.trust.verify import verify_document, verify_qr

DOC = Path(__file__).resolve().parents[2] / "docs" / "document-format.md"
TEXT = DOC.read_text(encoding="utf-8")


V1 = TEXT[TEXT.index("### 9.1 ") : TEXT.index("### 9.2 ")]
V2 = TEXT[TEXT.index("### 9.2 ") : TEXT.index("## 10. ")]


def block(info: str) -> str:
    match = re.search(rf"```{re.escape(info)}\n(.*?)```", TEXT, re.S)
    assert match, info
    return match.group(1)


def computed_line(label: str, text: str = TEXT) -> str:
    match = re.search(rf"^{re.escape(label)}:\s+(\S+)$", text, re.M)
    assert match, label
    return match.group(1)


PAYLOAD: dict[str, Any] = json.loads(block("json example-payload"))
PAYLOAD_V2: dict[str, Any] = json.loads(block("json example-payload-v2"))
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
    assert canonical.decode() in V1
    assert f"RFC 8785; {len(canonical)} bytes of UTF-8" in V1
    facts, signature = seal_payload(PAYLOAD, KID, KEY)
    assert facts.version == "KW1"
    assert computed_line("hash (hex)", V1) == facts.hash == hashlib.sha256(canonical).hexdigest()
    assert computed_line("hash (b64url)", V1) == b64url_encode(bytes.fromhex(facts.hash))
    assert re.search(r"^seal:\s+(.+)$", V1, re.M).group(1) == seal_string(facts)  # type: ignore[union-attr]
    assert computed_line("signature", V1) == signature
    content = qr_content("https://khutwa.example.bh", PAYLOAD["public_id"], facts, signature)
    assert computed_line("QR content", V1) == content
    assert f"{len(content)} characters, version {qr_version(content)} at error correction M" in V1
    assert verify_qr(content, JWKS, payload=PAYLOAD).valid
    assert verify_document(PAYLOAD, signature, KID, JWKS).valid


def test_the_kw2_worked_example_is_what_the_code_computes() -> None:
    canonical = canonical_json(PAYLOAD_V2)
    assert canonical == rfc8785.dumps(PAYLOAD_V2)
    assert canonical.decode() in V2
    assert f"RFC 8785; {len(canonical)} bytes of UTF-8" in V2
    assert PAYLOAD_V2["v"] == 2 and PAYLOAD_V2["site"] == "https://khutwa.example.bh"
    # the v2 invoice follows the v1 one in the holder's chain
    assert PAYLOAD_V2["chain"]["previous_hash"] == hashlib.sha256(canonical_json(PAYLOAD)).hexdigest()
    assert PAYLOAD_V2["chain"]["counter"] == PAYLOAD["chain"]["counter"] + 1
    facts, signature = seal_payload(PAYLOAD_V2, KID, KEY)
    assert (facts.version, facts.public_id, facts.site) == (
        "KW2",
        PAYLOAD_V2["public_id"],
        PAYLOAD_V2["site"],
    )
    assert computed_line("hash (hex)", V2) == facts.hash == hashlib.sha256(canonical).hexdigest()
    assert computed_line("hash (b64url)", V2) == b64url_encode(bytes.fromhex(facts.hash))
    assert computed_line("seal", V2) == seal_string(facts)
    assert computed_line("s", V2) == seal_param(facts)
    assert computed_line("signature", V2) == signature
    content = qr_content(PAYLOAD_V2["site"], PAYLOAD_V2["public_id"], facts, signature)
    assert computed_line("QR content", V2) == content
    assert f"{len(content)} characters, version {qr_version(content)} at error correction M" in V2
    result = verify_qr(content, JWKS, expected_base_url="https://khutwa.example.bh", payload=PAYLOAD_V2)
    assert result.valid and result.signed_site == "https://khutwa.example.bh"
    assert verify_document(PAYLOAD_V2, signature, KID, JWKS).valid
    for forged in (
        content.replace("https://", "http://"),
        content.replace("khutwa.example.bh", "khutwa.example.bh/k"),
        content.replace("7c9e6679", "7c9e6678"),
    ):
        assert verify_qr(forged, JWKS).reasons == ["signature does not match the seal"], forged
    assert not verify_qr(content.replace("khutwa.example.bh", "khutwa.example.bh/"), JWKS).valid


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


def test_the_standalone_verifier_snippet_verifies_kw2_and_its_site() -> None:
    namespace: dict[str, Any] = {}
    exec(block("python"), namespace)  # noqa: S102 - the page's own example code
    content = computed_line("QR content", V2)
    fields = namespace["verify_qr"](content, JWKS, "https://khutwa.example.bh")
    assert "|".join(fields) == computed_line("seal", V2)
    assert fields[9:] == [PAYLOAD_V2["public_id"], "https://khutwa.example.bh"]
    for forged in (
        content.replace("https://", "http://"),  # the site is signed: a changed site is forged
        content.replace("7c9e6679", "7c9e6678"),  # and so is the public id
        content.replace("?s=KW2~", "?s=KW1~"),  # nor can it pass for KW1 (unsigned site)
    ):
        with pytest.raises(InvalidSignature):
            namespace["verify_qr"](forged, JWKS)
    with pytest.raises(AssertionError, match="not the official site"):
        namespace["verify_qr"](content, JWKS, "https://khutwa.gov.bh")
