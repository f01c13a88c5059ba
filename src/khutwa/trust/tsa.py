"""The platform's own time-stamping authority (RFC 3161), in pure Python (no Django import).

`TimestampAuthority.respond` takes the DER of a `TimeStampReq` and returns the DER of a
`TimeStampResp`: a granted response carrying a time-stamp token, or a rejection whose
`failInfo` says why (never an exception for bad input). The token is a CMS SignedData over a
`TSTInfo`, signed with ECDSA P-256 and SHA-256 by the TSA certificate, with:

- `policy`: `KHUTWA_TSA_POLICY` (an OID under ITU-T X.667 ``2.25``, which needs no
  registration), unless the request asks for another policy, which is refused;
- `messageImprint` as requested (SHA-256, SHA-384 or SHA-512; the digest length is checked);
- `serialNumber`: the generation time in nanoseconds followed by 64 random bits, so serials
  are unique across processes and machines without shared state, and fit in 160 bits;
- `genTime` in UTC (millisecond precision) with an `accuracy` of one second;
- the request's `nonce` echoed; `tsa` naming the TSA certificate's subject;
- signed attributes content-type, message-digest, and signing-certificate-v2 (an
  ESSCertIDv2 with the SHA-256 of the TSA certificate and its issuer and serial), which ties
  the token to the certificate (RFC 5816);
- the TSA certificate in the SignedData when the request sets `certReq`.

`LocalTimeStamper` plugs the authority into pyHanko in-process (the same request and response
bytes as over HTTP, without the network); it lives in `khutwa.trust.local_stamper`, loaded on
first use, so that the TSA's view (and every process that does not sign) does not import pyHanko.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from khutwa.trust.keys import key_usage_end

if TYPE_CHECKING:
    from khutwa.trust.local_stamper import LocalTimeStamper

__all__ = [
    "KHUTWA_TSA_POLICY",
    "MAX_REQUEST_BYTES",
    "LocalTimeStamper",
    "TimestampAuthority",
    "TsaConfigurationError",
    "system_failure",
]

logger = logging.getLogger(__name__)

#: The platform TSA's policy: ``2.25.<UUID f79cfb17-264f-46ca-8501-d6f37fff1ff3 as an integer>``.
KHUTWA_TSA_POLICY = "2.25.329134405987720177929088226632358895603"

#: A TimeStampReq with a SHA-512 imprint, a policy, a nonce and an extension takes about
#: 150 bytes; anything much larger is not a time-stamp request.
MAX_REQUEST_BYTES = 4096

#: Digest algorithms accepted in the message imprint, with their digest lengths.
DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}

ACCURACY_SECONDS = 1


class TsaConfigurationError(ValueError):
    """The key and certificate given cannot make a time-stamping authority."""


class _Rejection(Exception):
    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text


class _TimeStampResp(core.Sequence):
    """RFC 3161's TimeStampResp: asn1crypto's own makes the token mandatory, but a rejection
    carries none."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _rejection(fail_info: str, text: str) -> bytes:
    status = tsp.PKIStatusInfo(
        {
            "status": "rejection",
            "status_string": [text],
            "fail_info": tsp.PKIFailureInfo({fail_info}),
        }
    )
    return _TimeStampResp({"status": status}).dump()


def system_failure() -> bytes:
    """The DER of a rejection for when the TSA itself cannot work (its key is unusable)."""
    return _rejection("system_failure", "the time-stamping authority is not available")


def _serial(now_ns: int) -> int:
    """Unique without coordination: nanoseconds since the epoch (61 bits until 2043, 62 bits
    until 2116), then 64 random bits; positive and at most 126 bits, well within RFC 3161's 160."""
    return (now_ns << 64) | secrets.randbits(64)


class TimestampAuthority:
    """Issues RFC 3161 time-stamp tokens with one key and certificate.

    `chain` holds the certificates above the TSA's (the root may be included); they are added
    to tokens when the request sets certReq, after the TSA certificate. `clock` returns the
    current time (aware); it defaults to the system clock in UTC.
    """

    def __init__(
        self,
        *,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: list[x509.Certificate] | None = None,
        policy: str = KHUTWA_TSA_POLICY,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TsaConfigurationError("the TSA key must be an ECDSA private key")
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
            raise TsaConfigurationError("the TSA key does not belong to the TSA certificate")
        try:
            eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        except x509.ExtensionNotFound:
            raise TsaConfigurationError("the TSA certificate has no extended key usage") from None
        if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
            raise TsaConfigurationError(
                "the TSA certificate's extended key usage must be id-kp-timeStamping alone, critical"
            )
        self._key = key
        self.certificate = certificate
        # Tokens are issued only within the key's usage period (RFC 5280 §4.2.1.4), which ends
        # long before the certificate expires: the tokens stay verifiable until then.
        self._use_until = key_usage_end(certificate)
        der = certificate.public_bytes(serialization.Encoding.DER)
        self._asn1_certificate = asn1_x509.Certificate.load(der)
        self._chain = [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain or []
        ]
        self.policy = policy
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # Built once and re-loaded from their DER: asn1crypto re-encodes a constructed value
        # on every dump (milliseconds for a Name), but copies a parsed one's bytes.
        signing_certificate = cms.CMSAttribute(
            {
                "type": "signing_certificate_v2",
                "values": [
                    {
                        "certs": [
                            {
                                # sha256 is ESSCertIDv2's default hash algorithm: left out of the DER
                                "cert_hash": hashlib.sha256(der).digest(),
                                "issuer_serial": {
                                    "issuer": [
                                        asn1_x509.GeneralName(
                                            name="directory_name", value=self._asn1_certificate.issuer
                                        )
                                    ],
                                    "serial_number": self._asn1_certificate.serial_number,
                                },
                            }
                        ]
                    }
                ],
            }
        )
        self._signing_certificate_attribute = cms.CMSAttribute.load(signing_certificate.dump())
        self._tsa_name = asn1_x509.GeneralName.load(
            asn1_x509.GeneralName(name="directory_name", value=self._asn1_certificate.subject).dump()
        )
        self._sid = cms.SignerIdentifier.load(
            cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value=cms.IssuerAndSerialNumber(
                    {
                        "issuer": self._asn1_certificate.issuer,
                        "serial_number": self._asn1_certificate.serial_number,
                    }
                ),
            ).dump()
        )

    # --- the protocol ---------------------------------------------------------------------

    def respond(self, request: bytes) -> bytes:
        """The DER of a TimeStampResp for the DER of a TimeStampReq: granted with a token, or
        a rejection naming the failure (badDataFormat, badAlg, unacceptedPolicy,
        unacceptedExtension, timeNotAvailable). Never raises for bad input."""
        try:
            req = self._parse(request)
        except _Rejection as rejection:
            return _rejection(rejection.fail_info, rejection.text)
        except Exception:  # asn1crypto raises all sorts on odd DER (fuzzing found some)
            return _rejection("bad_data_format", "not a well-formed TimeStampReq")
        try:
            token = self._token(req)
        except _Rejection as rejection:
            return _rejection(rejection.fail_info, rejection.text)
        except Exception:  # a fault of ours, not the client's: say so in RFC 3161 terms
            logger.exception("the time-stamping authority failed")
            return system_failure()
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()

    def _parse(self, request: bytes) -> tsp.TimeStampReq:
        if len(request) > MAX_REQUEST_BYTES:
            raise _Rejection("bad_request", "the request is too large")
        try:
            req = tsp.TimeStampReq.load(request, strict=True)
            req.native  # noqa: B018 - parses every field now, so that errors surface here
        except Exception as exc:  # asn1crypto raises all sorts on malformed DER
            raise _Rejection("bad_data_format", f"not a DER TimeStampReq: {exc}") from None
        if req["version"].native != "v1":
            raise _Rejection("bad_request", "only version 1 requests are supported")
        imprint = req["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in DIGEST_SIZES:
            raise _Rejection("bad_alg", f"unsupported hash algorithm {algorithm}; use SHA-256, -384 or -512")
        parameters = imprint["hash_algorithm"]["parameters"]
        if parameters.native is not None and not isinstance(parameters, core.Null):
            raise _Rejection("bad_data_format", "hash algorithm parameters must be absent or NULL")
        if len(imprint["hashed_message"].native) != DIGEST_SIZES[algorithm]:
            raise _Rejection("bad_data_format", f"the hashed message is not a {algorithm} digest")
        requested_policy = req["req_policy"].native
        if requested_policy is not None and requested_policy != self.policy:
            raise _Rejection("unaccepted_policy", f"this TSA issues tokens under policy {self.policy} only")
        if req["extensions"].native:
            raise _Rejection("unaccepted_extensions", "no request extensions are supported")
        return req

    def _token(self, req: tsp.TimeStampReq) -> cms.ContentInfo:
        now = self._clock().astimezone(dt.UTC)
        if not self.certificate.not_valid_before_utc <= now <= self._use_until:
            raise _Rejection("time_not_available", "the TSA certificate may not be used now")
        gen_time = now.replace(microsecond=now.microsecond // 1000 * 1000)
        info: dict[str, Any] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": req["message_imprint"],
            "serial_number": _serial(time.time_ns()),
            "gen_time": core.GeneralizedTime(gen_time),
            "accuracy": {"seconds": ACCURACY_SECONDS},
            "ordering": False,
            "tsa": self._tsa_name,
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"].native
        tst_info = tsp.TSTInfo(info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(tst_info).digest()]}),
                self._signing_certificate_attribute,
            ]
        )
        signature = self._key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": self._sid,
                "digest_algorithm": digest_algorithm,
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
                "signature": signature,
            }
        )
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": core.ParsableOctetString(tst_info),
            },
            "signer_infos": [signer_info],
        }
        if req["cert_req"].native:
            signed_data["certificates"] = [self._asn1_certificate, *self._chain]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})


def __getattr__(name: str) -> Any:
    if name == "LocalTimeStamper":  # pyHanko is imported on first use
        from khutwa.trust.local_stamper import LocalTimeStamper

        return LocalTimeStamper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
