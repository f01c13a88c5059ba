"""The platform's keys for Django code: where they live, the passphrase, and a cache; PAdES
signing with time-stamps (`pdf_sign`), the platform's time-stamping authority, and what
verifiers need (trust roots, CRLs)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from khutwa.config.files import write_new
from khutwa.trust import pdf as trust_pdf
from khutwa.trust.keys import KeyStore
from khutwa.trust.tsa import TimestampAuthority

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import TimeStamper

    from khutwa.trust.pdf import Revocation

_lock = threading.Lock()
_cache: dict[str, Any] = {}

#: Where each root CA's CRL is published (`{ca}`: the root's id); see config/urls.py.
CRL_PATH = "/.well-known/khutwa-ca-{ca}.crl"


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
        write_new(path, secrets.token_urlsafe(32).encode(), mode=0o600)
    return path.read_text().strip().encode()


def key_store() -> KeyStore:
    """The key store; the certificates it issues name the public CRL URL of their root."""
    return KeyStore(
        Path(settings.KHUTWA_KEY_DIR), passphrase(), crl_url=f"{settings.KHUTWA_SITE_URL}{CRL_PATH}"
    )


def _index_mtime() -> float:
    try:
        return (Path(settings.KHUTWA_KEY_DIR) / "keys.json").stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _fresh(name: str) -> bool:
    """Whether ``_cache[name]`` was made from the key store as it is now (call locked)."""
    return (
        name in _cache
        and _cache.get(f"{name}.mtime") == _index_mtime()
        and _cache.get(f"{name}.dir") == settings.KHUTWA_KEY_DIR
    )


def _remember(name: str, value: Any, mtime: float) -> Any:
    _cache[name] = value
    _cache[f"{name}.mtime"] = mtime
    _cache[f"{name}.dir"] = settings.KHUTWA_KEY_DIR
    return value


def signing_material() -> tuple[str, Any]:
    """(kid, Ed25519 private key) of the active key, decrypted once per process and re-read
    when `khutwa keys rotate` changes the store."""
    with _lock:
        if not _fresh("signing"):
            store = key_store()
            store.init()
            _remember("signing", store.active_signing_key(), _index_mtime())
        return _cache["signing"]


def tsa_trust_roots() -> list[x509.Certificate]:
    """The root certificate(s) of the external TSA (KHUTWA_TSA_TRUST_ROOTS), if configured."""
    path = settings.KHUTWA_TSA_TRUST_ROOTS
    if not path:
        return []
    with _lock:
        if _cache.get("tsa_roots.path") != path:
            _cache["tsa_roots"] = x509.load_pem_x509_certificates(Path(path).read_bytes())
            _cache["tsa_roots.path"] = path
        return list(_cache["tsa_roots"])


@dataclass(frozen=True)
class PadesMaterial:
    """What signing a PDF needs, decrypted once per process (re-read when `khutwa keys`
    renews or rotates): the document-signing key and certificate with its root, the time
    stamper, the roots the certificates are validated against before signing."""

    store: KeyStore
    key: Any
    certificate: x509.Certificate
    chain: list[x509.Certificate]
    timestamper: TimeStamper
    validation_roots: list[x509.Certificate]
    revocation: Revocation


def timestamp_authority() -> TimestampAuthority:
    """The platform's own TSA (its current certificate), as served at /tsa."""
    with _lock:
        if not _fresh("tsa"):
            store = key_store()
            store.init()
            key, certificate, _root = store.tsa_credentials()
            # Tokens carry the TSA certificate only: verifiers have the root (it is their trust
            # anchor, and every PDF's DSS holds it too); 0.5 KB less in each token.
            _remember("tsa", TimestampAuthority(key=key, certificate=certificate), _index_mtime())
        return _cache["tsa"]


def pades_material() -> PadesMaterial:
    authority = None if settings.KHUTWA_TSA_URL else timestamp_authority()
    external_roots = tsa_trust_roots()
    with _lock:
        if not _fresh("pades") or _cache.get("pades.tsa_url") != settings.KHUTWA_TSA_URL:
            store = key_store()
            store.init()
            key, certificate, chain = store.pades_credentials()
            timestamper: TimeStamper
            if authority is not None:
                from khutwa.trust.local_stamper import LocalTimeStamper  # imports pyHanko

                timestamper = LocalTimeStamper(authority)
            else:
                from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

                timestamper = RequestsHTTPTimeStamper(
                    settings.KHUTWA_TSA_URL, timeout=settings.KHUTWA_TSA_TIMEOUT
                )
            material = PadesMaterial(
                store=store,
                key=key,
                certificate=certificate,
                chain=chain,
                timestamper=timestamper,
                validation_roots=[*store.trust_roots(), *external_roots],
                # The platform's own certificates name its CRL, which is at hand; an external
                # TSA's revocation data is not fetched (nothing is, while signing).
                revocation="hard-fail" if authority is not None else "soft-fail",
            )
            _remember("pades", material, _index_mtime())
            _cache["pades.tsa_url"] = settings.KHUTWA_TSA_URL
        return _cache["pades"]


def pdf_sign(pdf: bytes, *, reason: str) -> bytes:
    """Sign a PDF/A-3 with PAdES B-LTA: the platform's document-signing certificate, a
    signature time-stamp and a document time-stamp (the platform's TSA, or KHUTWA_TSA_URL's),
    the certificates and CRLs embedded. Nothing is fetched but the time-stamps."""
    material = pades_material()
    return trust_pdf.pades_sign(  # imports pyHanko on first use
        pdf,
        key=material.key,
        certificate=material.certificate,
        chain=material.chain,
        reason=reason,
        timestamper=material.timestamper,
        crls=material.store.crls(),  # re-issued when due
        validation_roots=material.validation_roots,
        revocation=material.revocation,
    )


def jwks() -> dict[str, Any]:
    """The JWKS; with an external TSA, its roots as ``x5c_tsa_roots`` (base64 DER) too, so
    that offline verifiers can check its time-stamps; the transparency log's key and witnesses
    as ``tlog`` (docs/transparency-log.md)."""
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    from khutwa.tlog.keys import tlog_jwks_member

    store = key_store()
    store.init()
    document = store.jwks()
    roots = tsa_trust_roots()
    if roots:
        document["x5c_tsa_roots"] = [
            base64.b64encode(root.public_bytes(Encoding.DER)).decode() for root in roots
        ]
    document["tlog"] = tlog_jwks_member()
    return document


def cache_clear() -> None:
    with _lock:
        _cache.clear()
