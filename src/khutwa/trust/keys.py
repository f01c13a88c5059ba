"""The platform's keys, in a directory of files (never in a database).

Layout of a store (public material in plain files, private keys encrypted at rest as PKCS#8
with ``BestAvailableEncryption(passphrase)``, mode 0600):

    keys.json                       the index (which files, which key is active, dates)
    signing-<kid>.pub               Ed25519 public key (PEM, SubjectPublicKeyInfo)
    signing-<kid>.key.pem           Ed25519 private key (encrypted PEM, 0600)
    root-ca.pem / root-ca.key.pem   the platform root CA (ECDSA P-256, self-signed, 10 years)
    document-signing.pem / .key.pem the PAdES document-signing certificate (P-256, 2 years)

Every file is written atomically (temporary file, fsync, rename, fsync of the directory) and
``init``/``rotate`` hold an exclusive lock on ``.lock``, so concurrent workers that start
together create one set of keys. Pure Python; no Django import.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from khutwa.trust.canonical import b64url_encode
from khutwa.trust.seal import key_id

__all__ = ["KeyInfo", "KeyStore", "KeyStoreError"]

INDEX = "keys.json"
INDEX_FORMAT = 1
ROOT_CA_CN = "Khutwa Platform Root CA"
SIGNING_CERT_CN = "Khutwa Document Signing"
ORGANISATION = "Ministry of Social Development — Khutwa"
COUNTRY = "BH"
ROOT_CA_DAYS = 3652  # 10 years
SIGNING_CERT_DAYS = 730  # 2 years
BACKDATE = dt.timedelta(minutes=5)  # tolerate small clock differences of verifiers

#: Extended key usages of the document-signing certificate: RFC 9336 id-kp-documentSigning,
#: Adobe Authentic Documents Trust, and emailProtection (NSS, hence poppler's ``pdfsig``,
#: checks signers of documents for the e-mail signer usage).
DOCUMENT_SIGNING_EKUS = (
    ObjectIdentifier("1.3.6.1.5.5.7.3.36"),
    ObjectIdentifier("1.2.840.113583.1.1.5"),
    ExtendedKeyUsageOID.EMAIL_PROTECTION,
)

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


class KeyStoreError(Exception):
    """A key store that cannot be used as asked (wrong passphrase, missing or corrupt files)."""


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    status: Literal["active", "retired"]
    created_at: dt.datetime
    retired_at: dt.datetime | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # exactly this mode, whatever the umask
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


class KeyStore:
    """The platform's signing keys, root CA and PAdES certificate in ``directory``."""

    def __init__(self, directory: Path, passphrase: bytes) -> None:
        if not isinstance(passphrase, bytes) or not passphrase:
            raise KeyStoreError("the key store passphrase must be non-empty bytes")
        self.directory = Path(directory)
        self._passphrase = passphrase
        self._index_cache: tuple[tuple[int, int, int], dict[str, Any]] | None = None
        self._private_cache: dict[str, Any] = {}

    # --- files ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: no inter-process lock
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _index(self) -> dict[str, Any]:
        path = self.directory / INDEX
        try:
            stat = path.stat()
        except FileNotFoundError:
            return {"format": INDEX_FORMAT, "signing_keys": []}
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._index_cache is not None and self._index_cache[0] == signature:
            return self._index_cache[1]
        try:
            index = json.loads(path.read_bytes())
            if index.get("format") != INDEX_FORMAT or not isinstance(index.get("signing_keys"), list):
                raise ValueError("unknown format")
        except (ValueError, AttributeError) as exc:
            raise KeyStoreError(f"the key store index {path} is corrupt: {exc}") from None
        self._index_cache = (signature, index)
        return index

    def _write_index(self, index: dict[str, Any]) -> None:
        data = json.dumps(index, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
        _write_atomic(self.directory / INDEX, data, PUBLIC_MODE)

    def _write_private(self, name: str, key: Any) -> None:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )
        _write_atomic(self.directory / name, pem, PRIVATE_MODE)

    def _load_private(self, name: str) -> Any:
        if name in self._private_cache:
            return self._private_cache[name]
        path = self.directory / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError(f"the private key file {path} is missing") from None
        try:
            key = serialization.load_pem_private_key(data, password=self._passphrase)
        except ValueError as exc:
            if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
                raise KeyStoreError(
                    f"wrong passphrase for the key store {self.directory}: cannot decrypt {name}"
                ) from None
            raise KeyStoreError(f"the private key file {path} is corrupt: {exc}") from None
        except TypeError as exc:  # not encrypted: refuse, private keys are never stored in clear
            raise KeyStoreError(f"the private key file {path} is not encrypted: {exc}") from None
        self._private_cache[name] = key
        return key

    def _load_certificate(self, name: str) -> x509.Certificate:
        path = self.directory / name
        try:
            return x509.load_pem_x509_certificate(path.read_bytes())
        except FileNotFoundError:
            raise KeyStoreError(f"the certificate file {path} is missing") from None
        except ValueError as exc:
            raise KeyStoreError(f"the certificate file {path} is corrupt: {exc}") from None

    def _load_public(self, entry: dict[str, Any]) -> Ed25519PublicKey:
        path = self.directory / entry["public"]
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except FileNotFoundError:
            raise KeyStoreError(f"the public key file {path} is missing") from None
        except ValueError as exc:
            raise KeyStoreError(f"the public key file {path} is corrupt: {exc}") from None
        if not isinstance(key, Ed25519PublicKey) or key_id(key) != entry["kid"]:
            raise KeyStoreError(f"the public key file {path} does not hold key {entry['kid']}")
        return key

    # --- creation -------------------------------------------------------------------------

    def _new_signing_key(self, now: dt.datetime) -> dict[str, Any]:
        key = Ed25519PrivateKey.generate()
        kid = key_id(key.public_key())
        entry: dict[str, Any] = {
            "kid": kid,
            "status": "active",
            "created_at": _iso(now),
            "retired_at": None,
            "public": f"signing-{kid}.pub",
            "private": f"signing-{kid}.key.pem",
        }
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._write_private(entry["private"], key)
        _write_atomic(self.directory / entry["public"], public_pem, PUBLIC_MODE)
        self._private_cache[entry["private"]] = key
        return entry

    def _new_root_ca(self, now: dt.datetime) -> dict[str, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(ROOT_CA_CN)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + dt.timedelta(days=ROOT_CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        entry = {"certificate": "root-ca.pem", "private": "root-ca.key.pem", "created_at": _iso(now)}
        self._write_private(entry["private"], key)
        _write_atomic(
            self.directory / entry["certificate"],
            certificate.public_bytes(serialization.Encoding.PEM),
            PUBLIC_MODE,
        )
        self._private_cache[entry["private"]] = key
        return entry

    def _new_signing_certificate(self, now: dt.datetime, root: dict[str, Any]) -> dict[str, Any]:
        ca_key = self._load_private(root["private"])
        ca_certificate = self._load_certificate(root["certificate"])
        key = ec.generate_private_key(ec.SECP256R1())
        not_after = min(now + dt.timedelta(days=SIGNING_CERT_DAYS), ca_certificate.not_valid_after_utc)
        ca_ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(SIGNING_CERT_CN))
            .issuer_name(ca_certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(list(DOCUMENT_SIGNING_EKUS)), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        entry = {
            "certificate": "document-signing.pem",
            "private": "document-signing.key.pem",
            "created_at": _iso(now),
        }
        self._write_private(entry["private"], key)
        _write_atomic(
            self.directory / entry["certificate"],
            certificate.public_bytes(serialization.Encoding.PEM),
            PUBLIC_MODE,
        )
        self._private_cache[entry["private"]] = key
        return entry

    def _check_passphrase(self, index: dict[str, Any]) -> None:
        """Decrypt one existing private key, so that a wrong passphrase fails before any write."""
        for entry in [*index["signing_keys"], index.get("root_ca"), index.get("document_signing")]:
            if entry:
                self._load_private(entry["private"])
                return

    def init(self) -> bool:
        """Create whatever is absent: the active Ed25519 signing key, the root CA, the
        document-signing certificate. Changes nothing in a complete store (but checks the
        passphrase). Returns whether anything was created."""
        with self._locked():
            index = dict(self._index())
            index["signing_keys"] = list(index["signing_keys"])
            self._check_passphrase(index)
            now = _now()
            created = False
            if not any(entry["status"] == "active" for entry in index["signing_keys"]):
                index["signing_keys"].append(self._new_signing_key(now))
                self._write_index(index)
                created = True
            if not index.get("root_ca"):
                index["root_ca"] = self._new_root_ca(now)
                self._write_index(index)
                created = True
            if not index.get("document_signing"):
                index["document_signing"] = self._new_signing_certificate(now, index["root_ca"])
                self._write_index(index)
                created = True
            return created

    def rotate(self) -> str:
        """Make a new Ed25519 key the active one; the previous ones stay published as retired
        (documents they signed stay valid). Returns the new key id."""
        with self._locked():
            index = dict(self._index())
            if not index["signing_keys"]:
                raise KeyStoreError(f"the key store {self.directory} is not initialised: run init() first")
            self._check_passphrase(index)
            now = _now()
            keys = []
            for entry in index["signing_keys"]:
                if entry["status"] == "active":
                    entry = {**entry, "status": "retired", "retired_at": _iso(now)}
                keys.append(entry)
            new = self._new_signing_key(now)
            index["signing_keys"] = [*keys, new]
            self._write_index(index)
            return str(new["kid"])

    # --- reading --------------------------------------------------------------------------

    def _require(self) -> dict[str, Any]:
        index = self._index()
        if not index["signing_keys"] or not index.get("root_ca") or not index.get("document_signing"):
            raise KeyStoreError(f"the key store {self.directory} is not initialised: run init() first")
        return index

    def list(self) -> builtins.list[KeyInfo]:
        """Every Ed25519 signing key, oldest first."""
        return [
            KeyInfo(
                kid=entry["kid"],
                status="active" if entry["status"] == "active" else "retired",
                created_at=_from_iso(entry["created_at"]),
                retired_at=_from_iso(entry["retired_at"]) if entry.get("retired_at") else None,
            )
            for entry in self._index()["signing_keys"]
        ]

    def active_signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """(kid, private key) of the active Ed25519 key (decrypted once, then cached)."""
        index = self._require()
        for entry in index["signing_keys"]:
            if entry["status"] == "active":
                key = self._load_private(entry["private"])
                if not isinstance(key, Ed25519PrivateKey) or key_id(key.public_key()) != entry["kid"]:
                    raise KeyStoreError(
                        f"the private key file {entry['private']} does not hold key {entry['kid']}"
                    )
                return entry["kid"], key
        raise KeyStoreError(f"the key store {self.directory} has no active signing key")

    def pades_credentials(
        self,
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, builtins.list[x509.Certificate]]:
        """(private key, document-signing certificate, [root CA certificate]) for PAdES."""
        index = self._require()
        key = self._load_private(index["document_signing"]["private"])
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyStoreError("the document-signing private key is not an ECDSA key")
        certificate = self._load_certificate(index["document_signing"]["certificate"])
        return key, certificate, [self._load_certificate(index["root_ca"]["certificate"])]

    def ca_certificate(self) -> x509.Certificate:
        """The platform root CA certificate (public)."""
        return self._load_certificate(self._require()["root_ca"]["certificate"])

    def jwks(self) -> dict[str, Any]:
        """The public keys to publish at /.well-known/khutwa-keys.json: every Ed25519 key
        (the active one first, then the retired ones, newest first) and, as ``x5c_root``,
        the root CA certificate (base64 DER) that PDF signatures chain to. Needs no passphrase."""
        index = self._require()
        newest_first = list(reversed(index["signing_keys"]))  # the index is in creation order
        entries = [e for e in newest_first if e["status"] == "active"] + [
            e for e in newest_first if e["status"] != "active"
        ]
        keys = []
        for entry in entries:
            public_key = self._load_public(entry)
            jwk: dict[str, Any] = {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64url_encode(
                    public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                ),
                "kid": entry["kid"],
                "use": "sig",
                "alg": "EdDSA",
                "status": "active" if entry["status"] == "active" else "retired",
                "created": entry["created_at"],
            }
            if entry.get("retired_at"):
                jwk["retired"] = entry["retired_at"]
            keys.append(jwk)
        root = self.ca_certificate().public_bytes(serialization.Encoding.DER)
        return {"keys": keys, "x5c_root": base64.b64encode(root).decode("ascii")}
