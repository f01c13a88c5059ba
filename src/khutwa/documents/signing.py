"""The platform's keys for Django code: where they live, the passphrase, and a cache."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from khutwa.trust.keys import KeyStore

_lock = threading.Lock()
_cache: dict[str, Any] = {}


def passphrase() -> bytes:
    """KHUTWA_KEY_PASSPHRASE; in development only, generated once into var/."""
    value = os.environ.get("KHUTWA_KEY_PASSPHRASE", "").strip()
    if value:
        return value.encode()
    if settings.IS_PRODUCTION:
        raise ImproperlyConfigured(
            "KHUTWA_KEY_PASSPHRASE is required when KHUTWA_ENV=production; set the environment variable."
        )
    path = Path(settings.VAR_DIR) / "key_passphrase"
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def key_store() -> KeyStore:
    return KeyStore(Path(settings.KHUTWA_KEY_DIR), passphrase())


def _index_mtime() -> float:
    try:
        return (Path(settings.KHUTWA_KEY_DIR) / "keys.json").stat().st_mtime
    except FileNotFoundError:
        return 0.0


def signing_material() -> tuple[str, Any]:
    """(kid, Ed25519 private key) of the active key, decrypted once per process and re-read
    when `khutwa keys rotate` changes the store."""
    with _lock:
        mtime = _index_mtime()
        if (
            _cache.get("mtime") != mtime
            or "signing" not in _cache
            or _cache.get("dir") != settings.KHUTWA_KEY_DIR
        ):
            store = key_store()
            store.init()
            _cache.clear()
            _cache["signing"] = store.active_signing_key()
            _cache["mtime"] = _index_mtime()
            _cache["dir"] = settings.KHUTWA_KEY_DIR
        return _cache["signing"]


def pades_material() -> tuple[Any, Any, list[Any]]:
    with _lock:
        if "pades" not in _cache or _cache.get("dir") != settings.KHUTWA_KEY_DIR:
            store = key_store()
            store.init()
            _cache["pades"] = store.pades_credentials()
            _cache["dir"] = settings.KHUTWA_KEY_DIR
        return _cache["pades"]


def jwks() -> dict[str, Any]:
    store = key_store()
    store.init()
    return store.jwks()


def cache_clear() -> None:
    with _lock:
        _cache.clear()
