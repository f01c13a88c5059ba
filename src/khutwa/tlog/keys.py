"""The log's key and the witnesses' keys, for Django code.

The log signs its checkpoints with its own Ed25519 key, kept in the platform's key store
(``khutwa.trust.keys``: ``log.key.pem``, encrypted at rest like the document key and created by
``khutwa keys init``), under the name ``KHUTWA_LOG_ORIGIN``. Witnesses are configured by their
cosigner vkeys in ``KHUTWA_LOG_WITNESSES``. The JWKS publishes both as its ``"tlog"`` member.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

from khutwa.documents.signing import key_store
from khutwa.tlog.note import Signer, Verifier
from khutwa.trust.canonical import b64url_encode

__all__ = ["log_origin", "log_signer", "log_verifier", "log_vkey", "tlog_jwks_member", "witness_verifiers"]

_lock = threading.Lock()
_cache: dict[tuple[str, str, float], Signer] = {}


def log_origin() -> str:
    """The log's origin: the first line of every checkpoint, and the name of its key."""
    return str(settings.KHUTWA_LOG_ORIGIN)


def _index_mtime() -> float:
    try:
        return (Path(settings.KHUTWA_KEY_DIR) / "keys.json").stat().st_mtime
    except FileNotFoundError:
        return 0.0


def log_signer() -> Signer:
    """The log's signer (its key decrypted once per process; the store initialised if needed)."""
    cache_key = (str(settings.KHUTWA_KEY_DIR), log_origin(), _index_mtime())
    with _lock:
        signer = _cache.get(cache_key)
        if signer is None:
            store = key_store()
            store.init()
            _cache.clear()
            signer = Signer(log_origin(), store.log_key())
            _cache[(str(settings.KHUTWA_KEY_DIR), log_origin(), _index_mtime())] = signer
        return signer


def log_vkey() -> str:
    """The log's verifier key ``<origin>+<key id>+<base64(0x01 ‖ public key)>``."""
    return log_signer().vkey


def log_verifier() -> Verifier:
    return Verifier.from_vkey(log_vkey())


def witness_verifiers() -> list[Verifier]:
    """The configured witnesses (``KHUTWA_LOG_WITNESSES``), as cosigner verifiers."""
    return [Verifier.from_vkey(vkey) for vkey in settings.KHUTWA_LOG_WITNESSES]


def tlog_jwks_member() -> dict[str, Any]:
    """The JWKS's ``"tlog"`` member: the log key as an OKP/Ed25519 JWK with ``"use": "tlog"``,
    the log's origin and vkey, and the witnesses' cosigner vkeys."""
    signer = log_signer()
    raw = signer.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(raw),
        "kid": signer.key_id.hex(),
        "use": "tlog",
        "alg": "EdDSA",
        "origin": signer.name,
        "vkey": signer.vkey,
        "witnesses": list(settings.KHUTWA_LOG_WITNESSES),
    }
