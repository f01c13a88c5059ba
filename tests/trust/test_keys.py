"""The key store: files and their modes, passphrase, rotation, JWKS, the PAdES certificates."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from khutwa.trust.canonical import b64url_encode
from khutwa.trust.keys import KeyInfo, KeyStore, KeyStoreError
from khutwa.trust.seal import seal_payload
from khutwa.trust.verify import verify_document
from tests.trust.factories import make_payload

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    keystore = KeyStore(tmp_path / "keys", PASSPHRASE)
    assert keystore.init() is True
    return keystore


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        path.name: (path.read_bytes(), path.stat().st_mtime_ns, stat.S_IMODE(path.stat().st_mode))
        for path in sorted(directory.iterdir())
    }


def test_init_creates_the_files_with_their_modes(store: KeyStore) -> None:
    kid = store.list()[0].kid
    names = {path.name for path in store.directory.iterdir()}
    assert names == {
        ".lock",
        "keys.json",
        f"signing-{kid}.pub",
        f"signing-{kid}.key.pem",
        "root-ca.pem",
        "root-ca.key.pem",
        "document-signing.pem",
        "document-signing.key.pem",
        "tsa.pem",
        "tsa.key.pem",
        "log.pub",
        "log.key.pem",
        "root-ca.crl",
    }
    for path in store.directory.iterdir():
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.name.endswith(".key.pem") or path.name == ".lock":
            assert mode == 0o600, path.name
        else:
            assert mode == 0o640, path.name
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700


def test_private_keys_are_encrypted_at_rest(store: KeyStore) -> None:
    for path in store.directory.glob("*.key.pem"):
        pem = path.read_bytes()
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(pem, password=None)
        serialization.load_pem_private_key(pem, password=PASSPHRASE)
    index = (store.directory / "keys.json").read_text()
    assert "PRIVATE" not in index and PASSPHRASE.decode() not in index


def test_init_on_an_existing_store_changes_nothing(store: KeyStore) -> None:
    before = snapshot(store.directory)
    assert store.init() is False
    assert KeyStore(store.directory, PASSPHRASE).init() is False
    assert snapshot(store.directory) == before


def test_a_wrong_passphrase_is_a_clear_error_and_changes_nothing(store: KeyStore) -> None:
    before = snapshot(store.directory)
    wrong = KeyStore(store.directory, b"wrong passphrase")
    for action in (
        wrong.active_signing_key,
        wrong.pades_credentials,
        wrong.tsa_credentials,
        wrong.init,
        wrong.rotate,
        wrong.renew,
        wrong.renew_due,
    ):
        with pytest.raises(KeyStoreError, match="wrong passphrase for the key store"):
            action()
    assert snapshot(store.directory) == before
    assert wrong.jwks() == store.jwks()  # public material needs no passphrase


def _passphrase_whose_padding_passes(pem: bytes) -> bytes:
    """A wrong passphrase whose decryption of `pem` has valid padding (about 1 in 256): the key's
    DER then fails to parse, as a damaged file's would."""
    for i in range(20_000):
        candidate = b"wrong-%d" % i
        try:
            serialization.load_pem_private_key(pem, password=candidate)
        except ValueError as exc:
            if "password" not in str(exc).lower() and "decrypt" not in str(exc).lower():
                return candidate
    raise AssertionError("no such passphrase in 20,000")


def test_a_wrong_passphrase_whose_padding_passes_still_names_the_passphrase(store: KeyStore) -> None:
    [path] = store.directory.glob("signing-*.key.pem")
    wrong = KeyStore(store.directory, _passphrase_whose_padding_passes(path.read_bytes()))
    ambiguous = r"wrong passphrase for the key store .*, or the private key file"
    with pytest.raises(KeyStoreError, match=ambiguous):
        wrong.active_signing_key()


def test_an_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="non-empty"):
        KeyStore(tmp_path, b"")


def test_an_uninitialised_store(tmp_path: Path) -> None:
    empty = KeyStore(tmp_path / "none", PASSPHRASE)
    assert empty.list() == []
    for action in (
        empty.active_signing_key,
        empty.jwks,
        empty.pades_credentials,
        empty.tsa_credentials,
        empty.rotate,
        empty.renew,
        empty.check,
        empty.crls,
        empty.log_key,
        empty.log_public_key,
    ):
        with pytest.raises(KeyStoreError, match="not initialised"):
            action()


def test_active_signing_key_and_its_kid(store: KeyStore) -> None:
    kid, key = store.active_signing_key()
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert kid == b64url_encode(hashlib.sha256(raw).digest())[:16]
    [info] = store.list()
    assert info == KeyInfo(kid=kid, status="active", created_at=info.created_at, retired_at=None)
    assert abs(info.created_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_jwks_shape(store: KeyStore) -> None:
    kid, key = store.active_signing_key()
    document = store.jwks()
    assert json.loads(json.dumps(document)) == document
    assert set(document) == {"keys", "x5c_root", "x5c_roots"}
    [entry] = document["keys"]
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert entry == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(raw),
        "kid": kid,
        "use": "sig",
        "alg": "EdDSA",
        "status": "active",
        "created": store.list()[0].created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    root = x509.load_der_x509_certificate(base64.b64decode(document["x5c_root"], validate=True))
    assert root == store.ca_certificate()
    assert document["x5c_roots"] == [document["x5c_root"]]


def test_rotation_keeps_old_signatures_valid(store: KeyStore) -> None:
    old_kid, old_key = store.active_signing_key()
    payload = make_payload()
    _, old_signature = seal_payload(payload, old_kid, old_key)
    other_process = KeyStore(store.directory, PASSPHRASE)
    assert other_process.active_signing_key()[0] == old_kid

    new_kid = store.rotate()
    assert new_kid != old_kid
    assert store.active_signing_key()[0] == new_kid
    assert other_process.active_signing_key()[0] == new_kid  # sees the rotation on disk
    statuses = [(info.kid, info.status) for info in store.list()]
    assert statuses == [(old_kid, "retired"), (new_kid, "active")]
    assert store.list()[0].retired_at is not None

    document = store.jwks()
    assert [(k["kid"], k["status"]) for k in document["keys"]] == [(new_kid, "active"), (old_kid, "retired")]
    assert "retired" in document["keys"][1] and "retired" not in document["keys"][0]

    old = verify_document(payload, old_signature, old_kid, document)
    assert old.valid and old.key_status == "retired"
    new_kid_, new_key = store.active_signing_key()
    _, new_signature = seal_payload(payload, new_kid_, new_key)
    new = verify_document(payload, new_signature, new_kid, document)
    assert new.valid and new.key_status == "active"

    third = store.rotate()
    assert [(k["kid"], k["status"]) for k in store.jwks()["keys"]] == [
        (third, "active"),
        (new_kid, "retired"),
        (old_kid, "retired"),
    ]
    assert store.init() is False


def test_root_ca_certificate(store: KeyStore) -> None:
    root = store.ca_certificate()
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert root.subject == root.issuer
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Khutwa Platform Root CA"
    assert (
        root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        == "Ministry of Social Development — Khutwa"
    )
    assert root.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "BH"
    root.verify_directly_issued_by(root)
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and not usage.value.digital_signature
    # 25 years: it outlives every TSA certificate it issues (2 years of use + 10 of verification)
    years = (root.not_valid_after_utc - root.not_valid_before_utc).days / 365.25
    assert 24.99 < years < 25.01


def test_document_signing_certificate(store: KeyStore) -> None:
    key, certificate, chain = store.pades_credentials()
    assert chain == [store.ca_certificate()]
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert certificate.public_key() == key.public_key()
    certificate.verify_directly_issued_by(chain[0])
    assert certificate.issuer == chain[0].subject
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    ekus = set(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert ObjectIdentifier("1.3.6.1.5.5.7.3.36") in ekus  # id-kp-documentSigning (RFC 9336)
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in ekus
    years = (certificate.not_valid_after_utc - certificate.not_valid_before_utc).days / 365.25
    assert 1.99 < years < 2.01


def test_the_pades_certificate_chains_to_the_published_root(store: KeyStore) -> None:
    """pyHanko's validator (what checks PDF signatures) accepts the chain, offline."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import CertificateValidator, ValidationContext

    _, certificate, _ = store.pades_credentials()
    root = asn1_x509.Certificate.load(base64.b64decode(store.jwks()["x5c_root"]))
    leaf = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    validator = CertificateValidator(leaf, validation_context=ValidationContext(trust_roots=[root]))
    path = asyncio.run(validator.async_validate_usage({"digital_signature", "non_repudiation"}))
    assert path is not None


def test_concurrent_init_creates_one_set_of_keys(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            KeyStore(directory, PASSPHRASE).init()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(KeyStore(directory, PASSPHRASE).list()) == 1
    assert len(list(directory.glob("signing-*.key.pem"))) == 1
    assert not list(directory.glob(".*.tmp"))


def test_a_corrupt_index_is_a_clear_error(store: KeyStore) -> None:
    (store.directory / "keys.json").write_text("{not json")
    with pytest.raises(KeyStoreError, match="is corrupt"):
        KeyStore(store.directory, PASSPHRASE).list()


def _raw(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_the_log_key_is_distinct_from_the_document_key_and_encrypted(store: KeyStore) -> None:
    _kid, document_key = store.active_signing_key()
    log_key = store.log_key()
    assert isinstance(log_key, Ed25519PrivateKey)
    assert _raw(log_key.public_key()) == _raw(store.log_public_key())
    assert _raw(log_key.public_key()) != _raw(document_key.public_key())
    pem = (store.directory / "log.key.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE((store.directory / "log.key.pem").stat().st_mode) == 0o600


def test_the_log_key_survives_a_restart_and_a_rotation(store: KeyStore) -> None:
    before = _raw(store.log_public_key())
    store.rotate()
    again = KeyStore(store.directory, PASSPHRASE)  # a new process
    assert again.init() is False
    assert _raw(again.log_key().public_key()) == before
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        KeyStore(store.directory, b"wrong").log_key()


def test_init_adds_the_log_key_to_an_older_store(store: KeyStore) -> None:
    index = json.loads((store.directory / "keys.json").read_text())
    del index["log_key"]
    (store.directory / "keys.json").write_text(json.dumps(index))
    for name in ("log.pub", "log.key.pem"):
        (store.directory / name).unlink()
    reopened = KeyStore(store.directory, PASSPHRASE)
    with pytest.raises(KeyStoreError, match="no log key"):
        reopened.log_key()
    assert reopened.init() is True
    assert isinstance(reopened.log_key(), Ed25519PrivateKey)


def test_crls_are_parsed_once_and_read_again_when_reissued(
    store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing asks for the CRLs every time: the file is parsed once per version of it."""
    from khutwa.trust import keys as keys_module

    parsed: list[bytes] = []
    real = keys_module.x509.load_der_x509_crl

    def counting(data: bytes) -> x509.CertificateRevocationList:
        parsed.append(data)
        return real(data)

    monkeypatch.setattr(keys_module.x509, "load_der_x509_crl", counting)
    first = store.crls()
    for _ in range(5):
        assert store.crls() == first
    assert len(parsed) == 1
    # a revocation re-issues the CRL: the next signing embeds the new one
    _key, certificate, _chain = store.tsa_credentials()
    store.revoke(certificate.serial_number, "superseded")
    after = store.crls()
    assert len(parsed) == 2
    assert after[0].get_revoked_certificate_by_serial_number(certificate.serial_number) is not None
    assert first[0].get_revoked_certificate_by_serial_number(certificate.serial_number) is None
