"""The platform's keys, in a directory of files (never in a database).

Layout of a store (public material in plain files, private keys encrypted at rest as PKCS#8
with ``BestAvailableEncryption(passphrase)``, mode 0600):

    keys.json                       the index (which files, which key is active, dates)
    signing-<kid>.pub               Ed25519 public key (PEM, SubjectPublicKeyInfo)
    signing-<kid>.key.pem           Ed25519 private key (encrypted PEM, 0600)
    root-ca.pem / root-ca.key.pem   the platform root CA (ECDSA P-256, self-signed; 25 years
                                    for stores created now, 10 years for older ones)
    root-ca.crl                     its certificate revocation list (DER, 7 days, refreshed
                                    when less than half of that is left)
    document-signing.pem / .key.pem the PAdES document-signing certificate (P-256, 2 years)
    log.pub / log.key.pem           the transparency log's Ed25519 key (checkpoints; distinct
                                    from the document keys; never rotated with them)
    tsa.pem / tsa.key.pem           the time-stamping authority's certificate (P-256): its key
                                    stamps for 2 years, its certificate lasts 10 years longer,
                                    so that every token stays verifiable for ten years

Renewal (`renew`, `renew_due`) issues new certificates into new files named with the time
(``document-signing-20281101T080000Z-1a2b3c.pem``); the index points at the current ones and
keeps the earlier ones as retired. A root rollover makes a new root (``root-ca-<time>.pem``,
its own ``.crl``) that issues the new certificates from then on; earlier roots stay trusted
(published in the JWKS as ``x5c_roots``) and keep issuing their CRLs, so that every PDF signed
under them keeps verifying.

Every file is written atomically (temporary file, fsync, rename, fsync of the directory) and
writers hold an exclusive lock on ``.lock``, so concurrent workers that start together create
one set of keys. The index has format 2; a format-1 store (before time-stamping) is read as it
is and completed by ``init``. Pure Python; no Django import.
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

__all__ = ["CertificateStatus", "KeyInfo", "KeyStore", "KeyStoreError"]

INDEX = "keys.json"
INDEX_FORMAT = 2
READABLE_FORMATS = (1, 2)
ROOT_CA_CN = "Khutwa Platform Root CA"
SIGNING_CERT_CN = "Khutwa Document Signing"
TSA_CERT_CN = "Khutwa Time-Stamping Authority"
ORGANISATION = "Ministry of Social Development — Khutwa"
COUNTRY = "BH"
VERIFIABLE_DAYS = 3653  # documents stay verifiable for ten years after they are issued
SIGNING_CERT_DAYS = 730  # 2 years
TSA_KEY_USE_DAYS = 730  # the TSA key stamps for 2 years...
TSA_CERT_DAYS = TSA_KEY_USE_DAYS + VERIFIABLE_DAYS  # ...and its certificate outlives that by ten
ROOT_CA_DAYS = 9132  # 25 years: it must outlive every TSA certificate it issues
RENEW_BEFORE = dt.timedelta(days=60)  # `check` warns, and `renew_due` renews, this long ahead
CRL_DAYS = 7
CRL_REFRESH = dt.timedelta(days=CRL_DAYS) / 2  # a CRL with less than this left is re-issued
BACKDATE = dt.timedelta(minutes=5)  # tolerate small clock differences of verifiers

#: Extended key usages of the document-signing certificate: RFC 9336 id-kp-documentSigning,
#: Adobe Authentic Documents Trust, and emailProtection (NSS, hence poppler's ``pdfsig``,
#: checks signers of documents for the e-mail signer usage).
DOCUMENT_SIGNING_EKUS = (
    ObjectIdentifier("1.3.6.1.5.5.7.3.36"),
    ObjectIdentifier("1.2.840.113583.1.1.5"),
    ExtendedKeyUsageOID.EMAIL_PROTECTION,
)

#: CRL reasons `revoke` accepts (RFC 5280 names, as in ``x509.ReasonFlags``).
REVOCATION_REASONS = frozenset(
    {"unspecified", "key_compromise", "affiliation_changed", "superseded", "cessation_of_operation"}
)

PRIVATE_MODE = 0o600
# Certificates, public keys, CRLs and the index: public by nature, yet not for the machine's
# other users (the platform's files never are; the folder itself is 0700).
PUBLIC_MODE = 0o640

Role = Literal["root", "document_signing", "tsa"]


class KeyStoreError(Exception):
    """A key store that cannot be used as asked (wrong passphrase, missing or corrupt files)."""


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    status: Literal["active", "retired"]
    created_at: dt.datetime
    retired_at: dt.datetime | None = None


@dataclass(frozen=True)
class CertificateStatus:
    """One of the platform's current certificates, as `KeyStore.check` sees it.

    renew_by: when it must have been replaced — for the document-signing certificate its
    expiry; for the TSA, the end of its key's usage period; for the root, the last moment at
    which it can still issue a TSA certificate that lasts the full ten years of verifiability.
    due: renew_by is within the window asked for (or past).
    """

    role: Role
    subject: str
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    renew_by: dt.datetime
    due: bool

    @property
    def label(self) -> str:
        return {
            "root": "root CA",
            "document_signing": "document-signing certificate",
            "tsa": "time-stamping certificate",
        }[self.role]


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


def _key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign,  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _ski(certificate: x509.Certificate) -> bytes:
    return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def _aki(certificate: x509.Certificate) -> bytes | None:
    try:
        value = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    return value.key_identifier


def root_id(certificate: x509.Certificate) -> str:
    """A root CA's short public name (in its CRL's URL): 16 hex digits of its key identifier."""
    return _ski(certificate).hex()[:16]


def key_usage_end(certificate: x509.Certificate) -> dt.datetime:
    """The end of the private key usage period (RFC 5280 §4.2.1.4, kept by the TSA certificate),
    else the certificate's expiry."""
    try:
        period = certificate.extensions.get_extension_for_class(x509.PrivateKeyUsagePeriod).value
    except x509.ExtensionNotFound:
        return certificate.not_valid_after_utc
    if period.not_after is None:
        return certificate.not_valid_after_utc
    return min(period.not_after.replace(tzinfo=dt.UTC), certificate.not_valid_after_utc)


class KeyStore:
    """The platform's signing keys, root CA(s), CRLs and PAdES / TSA certificates in ``directory``.

    ``crl_url``, when given, is the public address of a root's CRL with ``{ca}`` standing for
    the root's id (`root_id`); certificates issued from then on carry it as their CRL
    distribution point.
    """

    def __init__(self, directory: Path, passphrase: bytes, *, crl_url: str | None = None) -> None:
        if not isinstance(passphrase, bytes) or not passphrase:
            raise KeyStoreError("the key store passphrase must be non-empty bytes")
        if crl_url is not None and "{ca}" not in crl_url:
            raise KeyStoreError("the CRL URL must contain {ca}, which stands for the root's id")
        self.directory = Path(directory)
        self.crl_url = crl_url
        self._passphrase = passphrase
        self._index_cache: tuple[tuple[int, int, int], dict[str, Any]] | None = None
        self._private_cache: dict[str, Any] = {}
        # CRL file name → (its stat signature, the parsed CRL): read again only when re-issued
        self._crl_cache: dict[str, tuple[tuple[int, int, int], x509.CertificateRevocationList]] = {}

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
            if index.get("format") not in READABLE_FORMATS or not isinstance(index.get("signing_keys"), list):
                raise ValueError("unknown format")
        except (ValueError, AttributeError) as exc:
            raise KeyStoreError(f"the key store index {path} is corrupt: {exc}") from None
        self._index_cache = (signature, index)
        return index

    def _copy_index(self) -> dict[str, Any]:
        """A copy of the index to change (lists copied, so the cached one stays as read)."""
        index = dict(self._index())
        for name in ("signing_keys", "retired_roots", "retired_document_signing", "retired_tsa", "revoked"):
            index[name] = list(index.get(name, []))
        return index

    def _write_index(self, index: dict[str, Any]) -> None:
        index = {**index, "format": INDEX_FORMAT}
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
            if data.lstrip().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"):
                # A wrong passphrase usually fails the decryption's padding check (above); about
                # once in 256 the padding it yields happens to be valid and the key's DER then
                # fails to parse, as a damaged file's would: the two cannot be told apart here.
                raise KeyStoreError(
                    f"wrong passphrase for the key store {self.directory}, or the private key file "
                    f"{path} is corrupt: cannot decrypt {name} ({exc})"
                ) from None
            raise KeyStoreError(f"the private key file {path} is corrupt: {exc}") from None
        except TypeError as exc:  # not encrypted: refuse, private keys are never stored in clear
            raise KeyStoreError(f"the private key file {path} is not encrypted: {exc}") from None
        self._private_cache[name] = key
        return key

    def _load_ec_private(self, name: str) -> ec.EllipticCurvePrivateKey:
        key = self._load_private(name)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyStoreError(f"the private key file {name} does not hold an ECDSA key")
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

    def _free_stem(self, stem: str, now: dt.datetime) -> str:
        """``stem`` for the first certificate of its kind, a timestamped name for later ones."""
        if (
            not (self.directory / f"{stem}.pem").exists()
            and not (self.directory / f"{stem}.key.pem").exists()
        ):
            return stem
        return f"{stem}-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"

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

    def _new_log_key(self, now: dt.datetime) -> dict[str, Any]:
        """The transparency log's Ed25519 key: it signs checkpoints, never documents."""
        key = Ed25519PrivateKey.generate()
        stem = self._free_stem("log", now)
        entry: dict[str, Any] = {
            "public": f"{stem}.pub",
            "private": f"{stem}.key.pem",
            "created_at": _iso(now),
        }
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._write_private(entry["private"], key)
        _write_atomic(self.directory / entry["public"], public_pem, PUBLIC_MODE)
        self._private_cache[entry["private"]] = key
        return entry

    def _store_certificate(
        self, stem: str, now: dt.datetime, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate
    ) -> dict[str, Any]:
        entry = {"certificate": f"{stem}.pem", "private": f"{stem}.key.pem", "created_at": _iso(now)}
        self._write_private(entry["private"], key)
        _write_atomic(
            self.directory / entry["certificate"],
            certificate.public_bytes(serialization.Encoding.PEM),
            PUBLIC_MODE,
        )
        self._private_cache[entry["private"]] = key
        return entry

    def _new_root_ca(self, now: dt.datetime, generation: int = 1) -> dict[str, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        # Later roots have their own names, so that no two roots share a subject.
        name = _name(ROOT_CA_CN if generation == 1 else f"{ROOT_CA_CN} G{generation}")
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + dt.timedelta(days=ROOT_CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(sign=False, ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return self._store_certificate(self._free_stem("root-ca", now), now, key, certificate)

    def _issue(self, role: Role, now: dt.datetime, root: dict[str, Any]) -> dict[str, Any]:
        """A new document-signing or TSA key and certificate, issued by ``root``."""
        ca_key = self._load_ec_private(root["private"])
        ca_certificate = self._load_certificate(root["certificate"])
        key = ec.generate_private_key(ec.SECP256R1())
        ca_end = ca_certificate.not_valid_after_utc
        builder = (
            x509.CertificateBuilder()
            .issuer_name(ca_certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(sign=True, ca=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
        )
        if self.crl_url is not None:
            url = self.crl_url.format(ca=root_id(ca_certificate))
            point = x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
            builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
        if role == "document_signing":
            builder = (
                builder.subject_name(_name(SIGNING_CERT_CN))
                .not_valid_after(min(now + dt.timedelta(days=SIGNING_CERT_DAYS), ca_end))
                .add_extension(x509.ExtendedKeyUsage(list(DOCUMENT_SIGNING_EKUS)), critical=False)
            )
            stem = "document-signing"
        else:
            not_after = min(now + dt.timedelta(days=TSA_CERT_DAYS), ca_end)
            use_until = min(now + dt.timedelta(days=TSA_KEY_USE_DAYS), not_after)
            builder = (
                builder.subject_name(_name(TSA_CERT_CN))
                .not_valid_after(not_after)
                # RFC 3161 §2.3: exactly one extended key usage, id-kp-timeStamping, critical.
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                .add_extension(x509.PrivateKeyUsagePeriod(now - BACKDATE, use_until), critical=False)
            )
            stem = "tsa"
        certificate = builder.sign(ca_key, hashes.SHA256())
        return self._store_certificate(self._free_stem(stem, now), now, key, certificate)

    def _check_passphrase(self, index: dict[str, Any]) -> None:
        """Decrypt one existing private key, so that a wrong passphrase fails before any write."""
        for entry in [*index["signing_keys"], index.get("root_ca"), index.get("document_signing")]:
            if entry:
                self._load_private(entry["private"])
                return

    def init(self) -> bool:
        """Create whatever is absent: the active Ed25519 signing key, the root CA, the
        document-signing and TSA certificates, each root's CRL (re-issued when due). Changes
        nothing in a complete store (but checks the passphrase). Returns whether anything was
        created."""
        with self._locked():
            index = self._copy_index()
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
            for role in ("document_signing", "tsa"):
                if not index.get(role):
                    index[role] = self._issue(role, now, index["root_ca"])
                    self._write_index(index)
                    created = True
            if not index.get("log_key"):
                index["log_key"] = self._new_log_key(now)
                self._write_index(index)
                created = True
            if self._index().get("format") != INDEX_FORMAT:
                self._write_index(index)  # a format-1 store, now complete: format 2
                created = True
            for root in self._roots(index):
                created |= self._refresh_crl(root, index, now, force=False)
            return created

    def rotate(self) -> str:
        """Make a new Ed25519 key the active one; the previous ones stay published as retired
        (documents they signed stay valid). Returns the new key id."""
        with self._locked():
            index = self._copy_index()
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

    # --- renewal --------------------------------------------------------------------------

    def _renew_leaf(self, index: dict[str, Any], role: Role, now: dt.datetime) -> None:
        old = index[role]
        index[role] = self._issue(role, now, index["root_ca"])
        index[f"retired_{role}"].append({**old, "retired_at": _iso(now)})

    def _rollover_root(self, index: dict[str, Any], now: dt.datetime) -> None:
        old = index["root_ca"]
        index["root_ca"] = self._new_root_ca(now, generation=len(index["retired_roots"]) + 2)
        index["retired_roots"].append({**old, "retired_at": _iso(now)})
        self._refresh_crl(index["root_ca"], index, now, force=True)

    def renew(self, *, root: bool = False) -> builtins.list[Role]:
        """Issue a new document-signing and a new TSA certificate now (and, with ``root``, a new
        root CA first, which issues them). New PDFs use them; the old certificates stay
        embedded in the PDFs they signed, which keep verifying. Returns what was renewed."""
        with self._locked():
            index = self._copy_index()
            self._require(index)
            self._check_passphrase(index)
            now = _now()
            renewed: list[Role] = []
            if root:
                self._rollover_root(index, now)
                renewed.append("root")
            for role in ("document_signing", "tsa"):
                self._renew_leaf(index, role, now)
                renewed.append(role)
            self._write_index(index)
            return renewed

    def renew_due(self, within: dt.timedelta = RENEW_BEFORE) -> builtins.list[Role]:
        """Renew what `check` finds due within ``within``: a due root is rolled over (and then
        both certificates are re-issued by the new root). Returns what was renewed."""
        with self._locked():
            index = self._copy_index()
            self._require(index)
            self._check_passphrase(index)
            now = _now()
            due = {status.role for status in self._statuses(index, now, within) if status.due}
            renewed: list[Role] = []
            if "root" in due:
                self._rollover_root(index, now)
                renewed.append("root")
            for role in ("document_signing", "tsa"):
                if role in due or "root" in due:
                    self._renew_leaf(index, role, now)
                    renewed.append(role)
            if renewed:
                self._write_index(index)
            return renewed

    def check(self, within: dt.timedelta = RENEW_BEFORE) -> builtins.list[CertificateStatus]:
        """The current root, document-signing and TSA certificates, each with the moment it must
        be replaced by and whether that is within ``within`` (60 days by default)."""
        return self._statuses(self._require(), _now(), within)

    def _statuses(
        self, index: dict[str, Any], now: dt.datetime, within: dt.timedelta
    ) -> builtins.list[CertificateStatus]:
        result = []
        for role in ("root", "document_signing", "tsa"):
            certificate = self._load_certificate(index["root_ca" if role == "root" else role]["certificate"])
            if role == "root":
                renew_by = certificate.not_valid_after_utc - dt.timedelta(days=TSA_CERT_DAYS)
            elif role == "tsa":
                renew_by = key_usage_end(certificate)
            else:
                renew_by = certificate.not_valid_after_utc
            result.append(
                CertificateStatus(
                    role=role,
                    subject=certificate.subject.rfc4514_string(),
                    serial=certificate.serial_number,
                    not_before=certificate.not_valid_before_utc,
                    not_after=certificate.not_valid_after_utc,
                    renew_by=renew_by,
                    due=renew_by - now <= within,
                )
            )
        return result

    # --- revocation -----------------------------------------------------------------------

    def _roots(self, index: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        """Every root entry, the current one first, then the retired ones, newest first."""
        return [index["root_ca"], *reversed(index.get("retired_roots", []))] if index.get("root_ca") else []

    def _crl_name(self, root: dict[str, Any]) -> str:
        return str(root["certificate"]).removesuffix(".pem") + ".crl"

    def _read_crl(self, root: dict[str, Any]) -> x509.CertificateRevocationList | None:
        """The root's CRL, parsed once per version of its file (a re-issued or restored CRL is
        a new file: new inode, time or size), so that signing does not re-read it each time."""
        name = self._crl_name(root)
        path = self.directory / name
        try:
            stat = path.stat()
            signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            cached = self._crl_cache.get(name)
            if cached is not None and cached[0] == signature:
                return cached[1]
            crl = x509.load_der_x509_crl(path.read_bytes())
        except FileNotFoundError:
            self._crl_cache.pop(name, None)
            return None
        except ValueError as exc:
            raise KeyStoreError(f"the CRL file {name} is corrupt: {exc}") from None
        self._crl_cache[name] = (signature, crl)
        return crl

    @staticmethod
    def _crl_due(crl: x509.CertificateRevocationList | None, now: dt.datetime) -> bool:
        if crl is None or crl.next_update_utc is None:
            return True
        return crl.next_update_utc - now < CRL_REFRESH

    def _refresh_crl(
        self, root: dict[str, Any], index: dict[str, Any], now: dt.datetime, *, force: bool
    ) -> bool:
        """Issue ``root``'s CRL again when it is missing or due (or ``force``). Call locked."""
        current = self._read_crl(root)
        if not force and not self._crl_due(current, now):
            return False
        ca_certificate = self._load_certificate(root["certificate"])
        if ca_certificate.not_valid_after_utc <= now and current is not None:
            return False  # an expired root vouches for nothing new: its last CRL stays
        number = 1
        if current is not None:
            with contextlib.suppress(x509.ExtensionNotFound):
                number = current.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
        this_root = root_id(ca_certificate)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_certificate.subject)
            .last_update(now - BACKDATE)
            .next_update(now + dt.timedelta(days=CRL_DAYS))
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
        )
        for entry in index.get("revoked", []):
            if entry["root"] != this_root:
                continue
            revoked = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(entry["serial"], 16))
                .revocation_date(_from_iso(entry["revoked_at"]))
            )
            if entry["reason"] != "unspecified":
                revoked = revoked.add_extension(
                    x509.CRLReason(x509.ReasonFlags[entry["reason"]]), critical=False
                )
            builder = builder.add_revoked_certificate(revoked.build())
        crl = builder.sign(self._load_ec_private(root["private"]), hashes.SHA256())
        _write_atomic(
            self.directory / self._crl_name(root), crl.public_bytes(serialization.Encoding.DER), PUBLIC_MODE
        )
        return True

    def revoke(self, serial: int, reason: str = "unspecified") -> None:
        """Put a certificate the store issued (current or retired) on its root's CRL, which is
        re-issued at once. Revoke the current document-signing or TSA certificate only together
        with `renew`. Signatures and time-stamps made before the revocation keep verifying
        unless the reason is key_compromise (then nothing that certificate signed is trusted)."""
        if reason not in REVOCATION_REASONS:
            raise KeyStoreError(
                f"unknown revocation reason {reason!r}; use one of {sorted(REVOCATION_REASONS)}"
            )
        with self._locked():
            index = self._copy_index()
            self._require(index)
            self._check_passphrase(index)
            now = _now()
            issued = (
                [index[role] for role in ("document_signing", "tsa")]
                + index["retired_document_signing"]
                + index["retired_tsa"]
            )
            for entry in issued:
                certificate = self._load_certificate(entry["certificate"])
                if certificate.serial_number == serial:
                    break
            else:
                raise KeyStoreError(f"this key store issued no certificate with serial {serial:x}")
            root = self._issuer(certificate, index)
            if not any(int(r["serial"], 16) == serial for r in index["revoked"]):
                index["revoked"].append(
                    {
                        "serial": f"{serial:x}",
                        "root": root_id(self._load_certificate(root["certificate"])),
                        "revoked_at": _iso(now),
                        "reason": reason,
                    }
                )
                self._write_index(index)
            self._refresh_crl(root, index, now, force=True)

    def _issuer(self, certificate: x509.Certificate, index: dict[str, Any]) -> dict[str, Any]:
        aki = _aki(certificate)
        for root in self._roots(index):
            ca = self._load_certificate(root["certificate"])
            if aki == _ski(ca) or (aki is None and ca.subject == certificate.issuer):
                return root
        raise KeyStoreError(f"no root in the store issued {certificate.subject.rfc4514_string()}")

    def crl(self, ca: str | None = None) -> bytes:
        """The DER of a root's current CRL (the current root's, or the one whose `root_id` is
        ``ca``), re-issued first when it is missing or due (that needs the passphrase).
        KeyStoreError when there is no such root."""
        index = self._require()
        for root in self._roots(index):
            if ca is None or root_id(self._load_certificate(root["certificate"])) == ca:
                break
        else:
            raise KeyStoreError(f"no root CA with id {ca!r}")
        if self._crl_due(self._read_crl(root), _now()):
            with self._locked():
                index = self._copy_index()
                self._refresh_crl(root, index, _now(), force=False)
        crl = self._read_crl(root)
        if crl is None:  # pragma: no cover - just written
            raise KeyStoreError(f"the CRL of {root['certificate']} could not be written")
        return crl.public_bytes(serialization.Encoding.DER)

    def crls(self) -> builtins.list[x509.CertificateRevocationList]:
        """Every root's current CRL (the current root's first), re-issued where due."""
        index = self._require()
        now = _now()
        roots = self._roots(index)
        if any(self._crl_due(self._read_crl(root), now) for root in roots):
            with self._locked():
                index = self._copy_index()
                for root in self._roots(index):
                    self._refresh_crl(root, index, now, force=False)
            roots = self._roots(index)
        return [crl for crl in (self._read_crl(root) for root in roots) if crl is not None]

    # --- reading --------------------------------------------------------------------------

    def _require(self, index: dict[str, Any] | None = None) -> dict[str, Any]:
        index = self._index() if index is None else index
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

    def _log_entry(self) -> dict[str, Any]:
        entry = self._require().get("log_key")
        if not entry:
            raise KeyStoreError(f"the key store {self.directory} has no log key: run init() first")
        return dict(entry)

    def log_key(self) -> Ed25519PrivateKey:
        """The transparency log's private Ed25519 key (decrypted once, then cached)."""
        entry = self._log_entry()
        key = self._load_private(entry["private"])
        if not isinstance(key, Ed25519PrivateKey) or _raw_public(self.log_public_key()) != _raw_public(
            key.public_key()
        ):
            raise KeyStoreError(f"the private key file {entry['private']} does not hold the log key")
        return key

    def log_public_key(self) -> Ed25519PublicKey:
        """The transparency log's public key (needs no passphrase)."""
        path = self.directory / self._log_entry()["public"]
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except FileNotFoundError:
            raise KeyStoreError(f"the public key file {path} is missing") from None
        except ValueError as exc:
            raise KeyStoreError(f"the public key file {path} is corrupt: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyStoreError(f"the public key file {path} does not hold an Ed25519 key")
        return key

    def _credentials(
        self, role: Role
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, builtins.list[x509.Certificate]]:
        index = self._require()
        entry = index.get(role)
        if not entry:
            raise KeyStoreError(f"the key store {self.directory} has no {role} certificate: run init() first")
        key = self._load_ec_private(entry["private"])
        certificate = self._load_certificate(entry["certificate"])
        root = self._load_certificate(self._issuer(certificate, index)["certificate"])
        return key, certificate, [root]

    def pades_credentials(
        self,
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, builtins.list[x509.Certificate]]:
        """(private key, document-signing certificate, [its root CA certificate]) for PAdES."""
        return self._credentials("document_signing")

    def tsa_credentials(
        self,
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, builtins.list[x509.Certificate]]:
        """(private key, TSA certificate, [its root CA certificate]) for the time-stamping authority."""
        return self._credentials("tsa")

    def ca_certificate(self) -> x509.Certificate:
        """The current platform root CA certificate (public)."""
        return self._load_certificate(self._require()["root_ca"]["certificate"])

    def trust_roots(self) -> builtins.list[x509.Certificate]:
        """Every root CA certificate the platform has used, the current one first: a verifier
        trusts them all (a PDF is signed under the root that was current then)."""
        return [self._load_certificate(root["certificate"]) for root in self._roots(self._require())]

    def jwks(self) -> dict[str, Any]:
        """The public keys to publish at /.well-known/khutwa-keys.json: every Ed25519 key
        (the active one first, then the retired ones, newest first); as ``x5c_root`` the current
        root CA certificate (base64 DER) that new PDF signatures chain to, and as ``x5c_roots``
        every root, the current one first (older PDFs chain to older roots). Needs no passphrase."""
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
        roots = [
            base64.b64encode(root.public_bytes(serialization.Encoding.DER)).decode("ascii")
            for root in self.trust_roots()
        ]
        return {"keys": keys, "x5c_root": roots[0], "x5c_roots": roots}


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
