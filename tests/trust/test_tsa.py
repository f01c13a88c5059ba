"""The platform's RFC 3161 time-stamping authority: tokens checked independently with
`openssl ts -verify`, every field of the token, and every kind of bad request answered with a
proper rejection (never an exception)."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from khutwa.trust.keys import TSA_KEY_USE_DAYS, KeyStore
from khutwa.trust.tsa import (
    KHUTWA_TSA_POLICY,
    MAX_REQUEST_BYTES,
    LocalTimeStamper,
    TimestampAuthority,
    TsaConfigurationError,
)

PASSPHRASE = b"tsa test passphrase"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    keystore = KeyStore(tmp_path_factory.mktemp("tsa") / "keys", PASSPHRASE)
    keystore.init()
    return keystore


@pytest.fixture(scope="module")
def authority(store: KeyStore) -> TimestampAuthority:
    key, certificate, chain = store.tsa_credentials()
    return TimestampAuthority(key=key, certificate=certificate, chain=chain)


def request(
    data: bytes = b"hello",
    *,
    algorithm: str = "sha256",
    nonce: int | None = 0x1234567890ABCDEF,
    cert_req: bool = True,
    policy: str | None = None,
    digest: bytes | None = None,
) -> bytes:
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": algorithm},
            "hashed_message": digest if digest is not None else hashlib.new(algorithm, data).digest(),
        },
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy is not None:
        fields["req_policy"] = policy
    return tsp.TimeStampReq(fields).dump()


class Resp(core.Sequence):
    """TimeStampResp with an optional token (asn1crypto's own cannot parse a rejection)."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


def granted(reply: bytes) -> tuple[tsp.TSTInfo, cms.SignedData]:
    response = Resp.load(reply)
    assert response["status"]["status"].native == "granted", response["status"].native
    signed_data = response["time_stamp_token"]["content"]
    return signed_data["encap_content_info"]["content"].parsed, signed_data


def rejected(reply: bytes) -> tuple[set[str], str]:
    response = Resp.load(reply)
    status = response["status"]
    assert status["status"].native == "rejection"
    assert response["time_stamp_token"].native is None
    return set(status["fail_info"].native), " ".join(status["status_string"].native)


def _openssl() -> str:
    tool = shutil.which("openssl")
    assert tool, "the openssl command is needed to check tokens independently"
    return tool


def test_openssl_ts_verify_accepts_the_token_against_the_root_ca(
    authority: TimestampAuthority, store: KeyStore, tmp_path: Path
) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes("فاتورة INV-2026-000001".encode())
    query = tmp_path / "req.tsq"
    openssl = _openssl()
    subprocess.run(  # noqa: S603 - openssl makes the request, with its own random nonce
        [openssl, "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)],
        check=True,
        capture_output=True,
    )
    reply = tmp_path / "resp.tsr"
    reply.write_bytes(authority.respond(query.read_bytes()))
    root = tmp_path / "root.pem"
    root.write_bytes(store.ca_certificate().public_bytes(serialization.Encoding.PEM))
    for against in (["-queryfile", str(query)], ["-data", str(data)]):
        done = subprocess.run(  # noqa: S603
            [openssl, "ts", "-verify", "-in", str(reply), *against, "-CAfile", str(root)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Verification: OK" in done.stdout
    # a token for other data does not verify
    other = tmp_path / "other.bin"
    other.write_bytes(b"something else")
    done = subprocess.run(  # noqa: S603
        [openssl, "ts", "-verify", "-in", str(reply), "-data", str(other), "-CAfile", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    # nor against another root
    stranger = KeyStore(tmp_path / "stranger", PASSPHRASE)
    stranger.init()
    root.write_bytes(stranger.ca_certificate().public_bytes(serialization.Encoding.PEM))
    done = subprocess.run(  # noqa: S603
        [openssl, "ts", "-verify", "-in", str(reply), "-queryfile", str(query), "-CAfile", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0


def test_the_token_says_what_rfc_3161_asks(authority: TimestampAuthority) -> None:
    before = dt.datetime.now(dt.UTC)
    info, signed_data = granted(authority.respond(request(b"payload", nonce=987654321)))
    after = dt.datetime.now(dt.UTC)
    assert info["version"].native == "v1"
    assert info["policy"].native == KHUTWA_TSA_POLICY
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"payload").digest()
    assert info["nonce"].native == 987654321  # echoed
    gen_time = info["gen_time"].native
    assert gen_time.tzinfo is not None and gen_time.utcoffset() == dt.timedelta(0)  # UTC
    assert before - dt.timedelta(seconds=1) <= gen_time <= after
    assert info["accuracy"].native == {"seconds": 1, "millis": None, "micros": None}
    assert info["ordering"].native is False
    assert 0 < info["serial_number"].native < 2**160
    assert info["tsa"].name == "directory_name"
    subject = asn1_x509.Name.load(authority.certificate.subject.public_bytes())
    assert info["tsa"].chosen.native == subject.native
    # signed by the TSA certificate, which is included (certReq), with ESSCertIDv2
    [signer] = signed_data["signer_infos"]
    certificates = [c.chosen for c in signed_data["certificates"]]
    der = authority.certificate.public_bytes(serialization.Encoding.DER)
    assert der in [c.dump() for c in certificates]  # (a SET OF: in DER order, not ours)
    assert signer["sid"].chosen["serial_number"].native == authority.certificate.serial_number
    attributes = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}
    assert attributes["content_type"].native == "tst_info"
    [ess] = attributes["signing_certificate_v2"]["certs"]
    assert ess["cert_hash"].native == hashlib.sha256(der).digest()
    assert ess["issuer_serial"]["serial_number"].native == authority.certificate.serial_number
    # the signature over the signed attributes verifies with the TSA certificate's key
    public_key = authority.certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    from cryptography.hazmat.primitives import hashes

    signed = signer["signed_attrs"].untag().dump(force=True)  # as a SET OF, not [0] (RFC 5652 §5.4)
    public_key.verify(signer["signature"].native, signed, ec.ECDSA(hashes.SHA256()))


def test_without_cert_req_or_nonce_neither_is_included(authority: TimestampAuthority) -> None:
    info, signed_data = granted(authority.respond(request(nonce=None, cert_req=False)))
    assert info["nonce"].native is None
    assert signed_data["certificates"].native is None


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512"])
def test_the_imprint_algorithms_accepted(authority: TimestampAuthority, algorithm: str) -> None:
    info, _ = granted(authority.respond(request(algorithm=algorithm)))
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == algorithm


def test_serial_numbers_are_unique(authority: TimestampAuthority) -> None:
    serials = [granted(authority.respond(request()))[0]["serial_number"].native for _ in range(200)]
    assert len(set(serials)) == len(serials)
    other_process = TimestampAuthority(
        key=authority._key,
        certificate=authority.certificate,
    )
    more = [granted(other_process.respond(request()))[0]["serial_number"].native for _ in range(50)]
    assert not set(serials) & set(more)


def test_the_policy_asked_for_is_ours_or_refused(authority: TimestampAuthority) -> None:
    info, _ = granted(authority.respond(request(policy=KHUTWA_TSA_POLICY)))
    assert info["policy"].native == KHUTWA_TSA_POLICY
    fail, text = rejected(authority.respond(request(policy="1.2.3.4")))
    assert fail == {"unaccepted_policy"} and KHUTWA_TSA_POLICY in text


@pytest.mark.parametrize(
    ("body", "fail"),
    [
        (b"", {"bad_data_format"}),
        (b"not DER at all", {"bad_data_format"}),
        (b"\x30\x03\x02\x01\x01", {"bad_data_format"}),  # a SEQUENCE that is not a TimeStampReq
        (request(algorithm="sha1"), {"bad_alg"}),
        (request(algorithm="md5"), {"bad_alg"}),
        (request(digest=b"\x00" * 20), {"bad_data_format"}),  # "sha256" with 20 bytes
        (b"\x30" + b"\x82\x10\x00" + b"\x00" * 4096, {"bad_request"}),  # too large
    ],
)
def test_bad_requests_get_a_rejection_that_says_why(
    authority: TimestampAuthority, body: bytes, fail: set[str]
) -> None:
    assert rejected(authority.respond(body))[0] == fail


def test_request_extensions_and_other_versions_are_refused(authority: TimestampAuthority) -> None:
    req = tsp.TimeStampReq.load(request())
    with_extension = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": req["message_imprint"],
            "extensions": [{"extn_id": "1.2.3.4", "critical": False, "extn_value": b"\x05\x00"}],
        }
    )
    assert rejected(authority.respond(with_extension.dump()))[0] == {"unaccepted_extensions"}
    version_2 = request().replace(b"\x02\x01\x01", b"\x02\x01\x02", 1)
    assert rejected(authority.respond(version_2))[0] == {"bad_request"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=MAX_REQUEST_BYTES + 10))
def test_any_bytes_get_a_well_formed_reply(body: bytes) -> None:
    reply = _fuzz_authority().respond(body)
    assert Resp.load(reply)["status"]["status"].native in ("granted", "rejection")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_requests_get_a_well_formed_reply(data: st.DataObject) -> None:
    body = bytearray(request())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(body) - 1))
        body[position] = data.draw(st.integers(0, 255))
    reply = _fuzz_authority().respond(bytes(body))
    assert Resp.load(reply)["status"]["status"].native in ("granted", "rejection")


_FUZZ: list[TimestampAuthority] = []


def _fuzz_authority() -> TimestampAuthority:
    if not _FUZZ:
        import tempfile

        keystore = KeyStore(Path(tempfile.mkdtemp()) / "keys", PASSPHRASE)
        keystore.init()
        key, certificate, chain = keystore.tsa_credentials()
        _FUZZ.append(TimestampAuthority(key=key, certificate=certificate, chain=chain))
    return _FUZZ[0]


def test_no_tokens_after_the_key_usage_period(store: KeyStore) -> None:
    key, certificate, chain = store.tsa_credentials()
    authority = TimestampAuthority(key=key, certificate=certificate, chain=chain)
    with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=TSA_KEY_USE_DAYS + 1)):
        fail, _ = rejected(authority.respond(request()))
    assert fail == {"time_not_available"}
    # ...although the certificate itself is still valid for years (tokens stay verifiable)
    assert certificate.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(
        days=TSA_KEY_USE_DAYS + 3650
    )


def test_the_authority_needs_a_time_stamping_certificate_and_its_key(store: KeyStore) -> None:
    key, certificate, _ = store.pades_credentials()  # a document-signing certificate
    with pytest.raises(TsaConfigurationError, match="timeStamping"):
        TimestampAuthority(key=key, certificate=certificate)
    _, tsa_certificate, _ = store.tsa_credentials()
    with pytest.raises(TsaConfigurationError, match="does not belong"):
        TimestampAuthority(key=key, certificate=tsa_certificate)


def test_the_tsa_certificate(store: KeyStore) -> None:
    _, certificate, [root] = store.tsa_credentials()
    certificate.verify_directly_issued_by(root)
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    period = certificate.extensions.get_extension_for_class(x509.PrivateKeyUsagePeriod).value
    assert period.not_after is not None
    use_days = (period.not_after - certificate.not_valid_before_utc.replace(tzinfo=None)).days
    assert use_days == TSA_KEY_USE_DAYS
    # valid ten years beyond the last day its key stamps
    assert (certificate.not_valid_after_utc.replace(tzinfo=None) - period.not_after).days >= 3652


def test_pyhanko_uses_it_in_process_and_sees_refusals(authority: TimestampAuthority) -> None:
    """LocalTimeStamper goes through the DER request and response, like HTTP."""
    import asyncio

    from pyhanko.sign.timestamps import TimestampRequestError

    stamper = LocalTimeStamper(authority)
    token = asyncio.run(stamper.async_timestamp(hashlib.sha256(b"x").digest(), "sha256"))
    assert token["content"]["encap_content_info"]["content"].parsed["policy"].native == KHUTWA_TSA_POLICY
    with pytest.raises(TimestampRequestError, match="unsupported hash algorithm"):
        asyncio.run(stamper.async_timestamp(hashlib.sha1(b"x").digest(), "sha1"))  # noqa: S324


def test_digest_algorithm_parameters_absent_or_null(authority: TimestampAuthority) -> None:
    imprint = {
        "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256", "parameters": core.Null()}),
        "hashed_message": hashlib.sha256(b"x").digest(),
    }
    granted(authority.respond(tsp.TimeStampReq({"version": "v1", "message_imprint": imprint}).dump()))
