"""khutwa.trust is pure Python: it imports, and verifies, with Django made unimportable."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import khutwa.trust

SCRIPT = r"""
import importlib, pkgutil, sys
sys.modules["django"] = None  # any "import django..." now raises ImportError
import khutwa.trust
names = sorted(m.name for m in pkgutil.iter_modules(khutwa.trust.__path__))
for name in names:
    importlib.import_module(f"khutwa.trust.{name}")
assert {"canonical", "keys", "qr", "seal", "verify"} <= set(names), names
leaked = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
assert leaked == ["django"], leaked

from khutwa.trust.qr import qr_content
from khutwa.trust.seal import key_id, seal_payload
from khutwa.trust.verify import verify_qr
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from khutwa.trust.canonical import b64url_encode

key = Ed25519PrivateKey.generate()
kid = key_id(key.public_key())
payload = {"v": 1, "type": "receipt", "public_id": "00000000-0000-0000-0000-000000000001",
           "number": "RCT-2026-000001", "issue_date": "2026-11-27", "issuer": {"licence": "KH-2026-000001"},
           "total": "1.000", "vat": "0.000"}
facts, signature = seal_payload(payload, kid, key)
raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw), "kid": kid, "status": "active"}]}
assert verify_qr(qr_content("https://k.example", payload["public_id"], facts, signature), jwks).valid
v2 = {**payload, "v": 2, "site": "https://k.example"}
facts, signature = seal_payload(v2, kid, key)
content = qr_content("https://k.example", v2["public_id"], facts, signature)
assert facts.version == "KW2" and verify_qr(content, jwks, expected_base_url="https://k.example").valid
assert not verify_qr(content.replace("https://", "http://"), jwks).valid
print("ok", len(names))
"""


def test_the_package_imports_and_verifies_without_django() -> None:
    src = Path(khutwa.trust.__file__).parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("ok ")


def test_no_module_of_the_package_mentions_django_in_an_import() -> None:
    """Also lazy imports inside functions, which the subprocess would not reach."""
    for path in Path(khutwa.trust.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(name == "django" or name.startswith("django.") for name in names), (
                path.name,
                names,
            )
