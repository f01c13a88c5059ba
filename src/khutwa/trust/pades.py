"""PAdES with pyHanko: signing, time-stamping, verifying, reading attachments back.

The implementation behind `khutwa.trust.pdf`'s `pades_sign`, `pades_timestamp`, `pades_verify`
and `pdf_attachment` (import them from there). pyHanko, with aiohttp, pyhanko_certvalidator and
asn1crypto's parsers, costs a process about 0.8 s of CPU to import, so this module is loaded
only when something is signed, time-stamped, verified or read back: a `khutwa` command or a
test process that does none of that does not pay for it.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign._session_scope import run_and_release
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DSSCompareRule,
    FormUpdatingRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    SuspiciousModification,
    XrefStreamRule,
)
from pyhanko.sign.general import SigningError, get_pyca_cryptography_hash
from pyhanko.sign.signers.pdf_signer import (
    DSSContentSettings,
    SigDSSPlacementPreference,
    TimestampDSSContentSettings,
)
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko.sign.validation import EmbeddedPdfSignature, SignatureCoverageLevel, generic_cms
from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.status import DocumentTimestampStatus, PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from khutwa.trust.pdf import PadesSigningError, PdfSignatureResult, Revocation

#: Room for the CMS signature besides the certificates: an ECDSA P-256 signer info with its
#: signed attributes takes about 0.5 KB (see `_bytes_reserved`).
_CMS_OVERHEAD = 2048

#: The same for B-LTA, besides the certificates and the time-stamp token: the signer info with
#: its signed attributes and the SignedData around it take about 0.9 KB; the rest absorbs the
#: few bytes by which tokens differ (ECDSA signatures, fractions of seconds).
_CMS_OVERHEAD_LTA = 1536

_MAX_NAME_TREE_DEPTH = 32  # deepest name tree followed when looking for an attachment


# --- signing --------------------------------------------------------------------------------------


def _asn1_cert(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return _asn1_cert_from_der(certificate.public_bytes(serialization.Encoding.DER))


@functools.lru_cache(maxsize=64)
def _asn1_cert_from_der(der: bytes) -> asn1_x509.Certificate:
    """Parsed once: the platform signs with the same few certificates all day."""
    return asn1_x509.Certificate.load(der)


def _asn1_crl(crl: x509.CertificateRevocationList) -> asn1_crl.CertificateList:
    return _asn1_crl_from_der(crl.public_bytes(serialization.Encoding.DER))


@functools.lru_cache(maxsize=16)
def _asn1_crl_from_der(der: bytes) -> asn1_crl.CertificateList:
    """Parsed once per CRL: the same CRL goes into every signature until it is re-issued."""
    return asn1_crl.CertificateList.load(der)


class _KeySigner(signers.Signer):
    """A pyHanko signer around a `cryptography` ECDSA key object.

    pyHanko's SimpleSigner wants the key as PKCS#8 and reloads it from DER for every raw
    signature; this keeps the object as given (so it may also be a key that cannot be
    exported). pyHanko takes the mechanism (ECDSA with the digest) from the certificate.
    """

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
    ) -> None:
        super().__init__(
            signing_cert=_asn1_cert(certificate),
            cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in chain]),
        )
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self._key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))


def _der_size(certificates: list[x509.Certificate]) -> int:
    return sum(len(c.public_bytes(serialization.Encoding.DER)) for c in certificates)


def _bytes_reserved(certificates: list[x509.Certificate]) -> int:
    """Room for the CMS object, in hex digits: the signer info and every certificate, twice.

    Giving it saves pyHanko a dry-run signature to estimate the size.
    """
    return 2 * (_CMS_OVERHEAD + _der_size(certificates))


#: B-LT data goes into the DSS of the signature's own revision, and the document time-stamp is
#: the last revision, covering the whole file (no deprecated VRI entries, which would need one
#: more update after the time-stamp).
_DSS_SETTINGS = DSSContentSettings(
    include_vri=False,
    placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE,
    next_ts_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
)


def _signing_context(
    roots: list[x509.Certificate],
    certificates: list[x509.Certificate],
    crls: list[x509.CertificateRevocationList],
    revocation: Revocation,
) -> ValidationContext:
    return ValidationContext(
        trust_roots=[_asn1_cert(root) for root in roots],
        other_certs=[_asn1_cert(c) for c in certificates],
        crls=[_asn1_crl(crl) for crl in crls],
        allow_fetching=False,
        revocation_mode=revocation,
    )


def pades_sign(
    pdf: bytes,
    *,
    key: ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    reason: str,
    location: str = "Kingdom of Bahrain",
    field_name: str = "KhutwaSignature",
    timestamper: TimeStamper | None = None,
    crls: list[x509.CertificateRevocationList] | None = None,
    validation_roots: list[x509.Certificate] | None = None,
    revocation: Revocation = "hard-fail",
) -> bytes:
    """Sign the whole PDF with PAdES (ETSI.CAdES.detached), SHA-256 with ECDSA.

    Without ``timestamper``: baseline B-B. With it: baseline B-LTA — the signature carries an
    RFC 3161 signature time-stamp (B-T); the certificates of the signer and of the TSA with
    ``crls`` (their revocation data) go into the document security store (B-LT); then a
    document time-stamp covers the whole file (B-LTA). Nothing is fetched: the signer's and the
    TSA's certificates are validated before signing against ``validation_roots`` (by default
    the self-signed certificates of ``chain``) with ``crls``; ``revocation`` "hard-fail" needs a
    CRL for every certificate that names a CRL distribution point, "soft-fail" accepts none.

    `chain` holds the certificates between the signer and the root (the root may be included);
    all are embedded in the signature. Each step is an incremental update with an invisible,
    printable signature field, so the PDF/A-3 content and attachments are untouched.
    """
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("pades_sign needs an ECDSA private key from `cryptography`")
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise ValueError("The private key does not belong to the signing certificate")

    signer = _KeySigner(key, certificate, chain)
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    output = BytesIO()
    common: dict[str, Any] = {
        "field_name": field_name,
        "reason": reason,
        "location": location,
        "md_algorithm": "sha256",
        "subfilter": fields.SigSeedSubFilter.PADES,
    }
    if timestamper is None:
        meta = signers.PdfSignatureMetadata(**common)
        _run(
            signers.PdfSigner(meta, signer).async_sign_pdf(
                writer, output=output, bytes_reserved=_bytes_reserved([certificate, *chain])
            )
        )
        return output.getvalue()

    roots = validation_roots if validation_roots is not None else [c for c in chain if c.issuer == c.subject]
    context = _signing_context(roots, [certificate, *chain], crls or [], revocation)
    meta = signers.PdfSignatureMetadata(
        **common,
        embed_validation_info=True,
        use_pades_lta=True,
        timestamp_field_name=f"{field_name}Timestamp",
        validation_context=context,
        dss_settings=_DSS_SETTINGS,
    )
    # Room for the CMS object: as for B-B, plus the signature time-stamp token (the stamper's
    # sample token, which pyHanko asks for anyway and keeps). Giving it spares pyHanko a dry run,
    # and its 50% margin: about 3 KB of zeros in every file.
    try:
        token = _run(timestamper.async_dummy_response("sha256"))
        reserved = 2 * (_CMS_OVERHEAD_LTA + _der_size([certificate, *chain]) + len(token.dump()))
        _run(
            run_and_release(
                signers.PdfSigner(meta, signer, timestamper=timestamper).async_sign_pdf(
                    writer, output=output, bytes_reserved=reserved
                ),
                context,
            )
        )
    except (SigningError, TimestampRequestError) as exc:
        cause = exc.__cause__
        raise PadesSigningError(f"{exc}{f': {cause}' if cause else ''}") from exc
    return output.getvalue()


def pades_timestamp(
    pdf: bytes,
    *,
    timestamper: TimeStamper,
    trust_roots: list[x509.Certificate],
    crls: list[x509.CertificateRevocationList] | None = None,
    revocation: Revocation = "hard-fail",
) -> bytes:
    """Extend a B-LTA PDF's archive time-stamp chain: validation data for its last document
    time-stamp goes into the DSS, then a new document time-stamp covers the whole file.

    Do it before the last time-stamp's TSA certificate expires, with a TSA certificate that
    lasts longer: the PDF then stays verifiable as long as the new one. The last time-stamp is
    checked first (against ``trust_roots`` and ``crls``, without fetching anything).
    """
    context = _signing_context(trust_roots, [], crls or [], revocation)
    output = BytesIO()
    try:
        _run(
            run_and_release(
                signers.PdfTimeStamper(timestamper).async_update_archival_timestamp_chain(
                    PdfFileReader(BytesIO(pdf)), context, in_place=False, output=output
                ),
                context,
            )
        )
    except (SigningError, TimestampRequestError) as exc:
        raise PadesSigningError(str(exc)) from exc
    return output.getvalue()


# --- verification ---------------------------------------------------------------------------------

_XMP_DATES = frozenset(
    {"{http://ns.adobe.com/xap/1.0/}ModifyDate", "{http://ns.adobe.com/xap/1.0/}MetadataDate"}
)


def _xmp_without_dates(stream: generic.StreamObject) -> bytes:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    root = etree.fromstring(stream.data, parser=parser)
    for element in list(root.iter()):
        for name in _XMP_DATES & set(element.attrib):
            del element.attrib[name]
        if element.tag in _XMP_DATES and element.getparent() is not None:
            element.getparent().remove(element)
    return bytes(etree.tostring(root, method="c14n"))


class _XmpDatesRule(MetadataUpdateRule):
    """XMP metadata may change after signing only in its modification dates: pyHanko writes
    them again in every revision it adds (a document time-stamp's too)."""

    def apply(self, old: Any, new: Any) -> Any:
        updates = list(super().apply(old, new))
        try:
            before = old.root.get_value_as_reference("/Metadata").get_object()
            after = new.root.get_value_as_reference("/Metadata").get_object()
        except (KeyError, misc.IndirectObjectExpected):
            raise SuspiciousModification("the XMP metadata was added or removed after signing") from None
        if _xmp_without_dates(before) != _xmp_without_dates(after):
            raise SuspiciousModification("the XMP metadata changed after signing")
        return updates


#: What may follow a signature: validation data (the DSS), new signatures or document
#: time-stamps, and new XMP modification dates; nothing else. pyHanko's default policy also
#: lets the document information and the rest of the XMP metadata change (a title, say);
#: here that breaks the file's integrity.
_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
        _XmpDatesRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(field_rules=[SigFieldCreationRule(), SigFieldModificationRule()]),
)


def _subject(cert: asn1_x509.Certificate | None) -> str:
    if cert is None:
        return ""
    return x509.load_der_x509_certificate(cert.dump()).subject.rfc4514_string()


def _run(coro: Any) -> Any:
    """Run a pyHanko coroutine from synchronous code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


#: What pyHanko's AdES sub-indications mean for a reader, in the reasons.
_TRUST_PROBLEMS = {
    "OUT_OF_BOUNDS_NO_POE": "the certificate was not valid at that time",
    "OUT_OF_BOUNDS_NOT_REVOKED": "the certificate was not valid at that time",
    "EXPIRED": "the certificate was not valid at that time",
    "NOT_YET_VALID": "the certificate was not yet valid at that time",
    "REVOKED_NO_POE": "the certificate was revoked",
    "REVOKED": "the certificate was revoked",
    "NO_CERTIFICATE_CHAIN_FOUND": "it does not chain to a trusted root",
    "CHAIN_CONSTRAINTS_FAILURE": "its certificate chain breaks a constraint",
}


def _trust_problem(status: Any) -> str:
    problem = getattr(status, "trust_problem_indic", None)
    if problem is None:
        return "it does not chain to a trusted root"
    name = str(getattr(problem, "name", problem))
    return _TRUST_PROBLEMS.get(
        name, f"it does not chain to a trusted root ({name.lower().replace('_', ' ')})"
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def _token_time(signed_data: Any) -> datetime | None:
    """genTime of a time-stamp token's SignedData (unchecked: the token is validated later)."""
    try:
        moment = signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    except Exception:
        return None
    return _utc(moment) if isinstance(moment, datetime) else None


def _usable_at(crl: asn1_crl.CertificateList, moment: datetime) -> bool:
    """Whether a CRL speaks for ``moment``: it had not expired by then. One issued later is
    fine: it lists every revocation up to its own date. An expired one says nothing about
    ``moment`` (checking against it would fail as stale, although nothing was revoked)."""
    next_update = crl["tbs_cert_list"]["next_update"].native
    return next_update is None or _utc(next_update) >= moment


@dataclass
class _Evidence:
    """What the file itself holds besides its signatures: the DSS, and the verifier's extras."""

    certificates: list[asn1_x509.Certificate]
    crls: list[asn1_crl.CertificateList]
    trust_roots: list[asn1_x509.Certificate]
    tsa_roots: list[asn1_x509.Certificate]
    has_dss: bool
    contexts: list[ValidationContext] = field(default_factory=list)

    def context(self, moment: datetime, *, timestamps: bool) -> ValidationContext:
        """Trust as of ``moment``: roots, the DSS's certificates and CRLs (plus any fresher ones
        the verifier gave), no fetching; revocation checked with the CRLs at hand."""
        roots = [*self.trust_roots, *self.tsa_roots] if timestamps else self.trust_roots
        context = ValidationContext(
            trust_roots=roots,
            other_certs=self.certificates,
            crls=[crl for crl in self.crls if _usable_at(crl, moment)],
            allow_fetching=False,
            revocation_mode="soft-fail",
            retroactive_revinfo=True,
            moment=moment,
        )
        self.contexts.append(context)
        return context

    def compromised(self, certificate: asn1_x509.Certificate | None) -> bool:
        """Whether any CRL at hand revokes ``certificate`` for key compromise: then nothing it
        signed is trusted, whatever the time (a stolen key can sign with any date)."""
        if certificate is None:
            return False
        for crl in self.crls:
            if crl["tbs_cert_list"]["issuer"] != certificate.issuer:
                continue
            for revoked in crl["tbs_cert_list"]["revoked_certificates"]:
                if revoked["user_certificate"].native != certificate.serial_number:
                    continue
                for extension in revoked["crl_entry_extensions"]:
                    if extension["extn_id"].native == "crl_reason" and extension["extn_value"].native in (
                        "key_compromise",
                        "ca_compromise",
                    ):
                        return True
        return False


def _evidence(
    reader: PdfFileReader,
    trust_roots: list[x509.Certificate],
    tsa_roots: list[x509.Certificate],
    crls: list[x509.CertificateRevocationList],
) -> _Evidence:
    certificates: list[asn1_x509.Certificate] = []
    found: list[asn1_crl.CertificateList] = []
    has_dss = True
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        certificates = list(dss.load_certs())
        found = [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]
    except NoDSSFoundError:
        has_dss = False
    return _Evidence(
        has_dss=has_dss,
        certificates=certificates,
        crls=[*(_asn1_crl(crl) for crl in crls), *found],
        trust_roots=[_asn1_cert(root) for root in trust_roots],
        tsa_roots=[_asn1_cert(root) for root in tsa_roots],
    )


@dataclass
class _Checked:
    valid: bool = True
    intact: bool = True
    trusted: bool = True
    reasons: list[str] = field(default_factory=list)


def _only_validation_data_after(status: PdfSignatureStatus | DocumentTimestampStatus) -> bool:
    """Whether the signature covers the whole file, or only validation data (the DSS), new
    signatures or time-stamps and new XMP dates follow it (`_DIFF_POLICY`)."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    modification = status.modification_level
    return modification is not None and modification <= ModificationLevel.LTA_UPDATES


async def _check_document_timestamps(
    timestamps: list[EmbeddedPdfSignature], evidence: _Evidence, now: datetime, checked: _Checked
) -> list[tuple[int, datetime]]:
    """The archive chain, newest first: the newest document time-stamp is checked as of now,
    each older one as of the time of the next one (which proves it existed then). Returns the
    (revision covered, time) of those that hold, newest first; stops at the first that fails."""
    proven: list[tuple[int, datetime]] = []
    as_of = now
    for position, stamp in enumerate(reversed(timestamps)):
        label = f"Document time-stamp {stamp.field_name!r}"
        status: DocumentTimestampStatus = await async_validate_pdf_timestamp(
            stamp, validation_context=evidence.context(as_of, timestamps=True), diff_policy=_DIFF_POLICY
        )
        if not status.intact or not status.valid:
            checked.valid = checked.intact = False
            checked.reasons.append(f"{label}: the time-stamped bytes were changed (digest mismatch).")
            break
        if position == 0 and not _only_validation_data_after(status):
            checked.intact = False
            checked.reasons.append(f"{label}: the file was changed after it (it does not cover it all).")
        if not status.trusted or evidence.compromised(status.signing_cert):
            checked.trusted = False
            problem = "its key was compromised" if status.trusted else _trust_problem(status)
            checked.reasons.append(f"{label}: not trusted as of {_when(as_of)}: {problem}.")
            break
        as_of = _utc(status.timestamp)
        proven.append((stamp.signed_revision, as_of))
    return proven


async def _check_signature(
    sig: EmbeddedPdfSignature,
    evidence: _Evidence,
    now: datetime,
    proven: list[tuple[int, datetime]],
    checked: _Checked,
    timestamps: list[EmbeddedPdfSignature],
) -> tuple[str, datetime | None, str]:
    """One signature, checked as of the time it is proven to have been made. Returns the
    signer's subject, that time (None when nothing proves it: then it is checked as of now)
    and its PAdES level."""
    label = f"Signature {sig.field_name!r}"
    # The oldest document time-stamp of the chain that covers this signature proves that the
    # signature, its time-stamp and the validation data existed then.
    covered = [moment for revision, moment in proven if revision > sig.signed_revision]
    existed = min(covered) if covered else now
    claimed = next(
        (t for t in map(_token_time, generic_cms.extract_tst_data_iter(sig.signer_info, signed=False)) if t),
        None,
    )
    signed_at = claimed if claimed is not None and claimed <= existed else None
    status: PdfSignatureStatus = await async_validate_pdf_signature(
        sig,
        signer_validation_context=evidence.context(signed_at or existed, timestamps=False),
        ts_validation_context=evidence.context(existed, timestamps=True),
        diff_policy=_DIFF_POLICY,
    )
    stamp = status.timestamp_validity
    if signed_at is not None and not (
        stamp is not None
        and stamp.valid
        and stamp.intact
        and stamp.trusted
        and not evidence.compromised(stamp.signing_cert)
    ):
        if stamp is not None and stamp.valid and stamp.intact and not stamp.trusted:
            checked.reasons.append(
                f"{label}: its time-stamp is not trusted as of {_when(existed)}: {_trust_problem(stamp)}."
            )
        elif stamp is not None and stamp.trusted:
            checked.reasons.append(f"{label}: its time-stamp's key was compromised.")
        else:
            checked.reasons.append(f"{label}: its time-stamp does not verify.")
        signed_at = None  # an unproven time proves nothing: check the signer as of `existed`
        status = await async_validate_pdf_signature(
            sig,
            signer_validation_context=evidence.context(existed, timestamps=False),
            ts_validation_context=evidence.context(existed, timestamps=True),
            diff_policy=_DIFF_POLICY,
        )
    if not status.intact:
        checked.valid = checked.intact = False
        checked.reasons.append(f"{label}: the signed bytes were changed after signing (digest mismatch).")
    elif not status.valid:
        checked.valid = False
        checked.reasons.append(f"{label}: the cryptographic signature does not verify.")
    if status.intact and not _only_validation_data_after(status):
        checked.intact = False
        checked.reasons.append(
            f"{label}: the file was changed after signing (the signature does not cover it all)."
        )
    if not (status.valid and status.intact):
        checked.trusted = False
        checked.reasons.append(
            f"{label}: the signer's certificate was not checked, as the signature is invalid."
        )
    elif not status.trusted or evidence.compromised(status.signing_cert):
        checked.trusted = False
        problem = "its key was compromised" if status.trusted else _trust_problem(status)
        as_of = _when(signed_at or existed)
        checked.reasons.append(f"{label}: the signer's certificate is not trusted as of {as_of}: {problem}.")
    return _subject(status.signing_cert), signed_at, _level(sig, claimed, evidence, timestamps)


def _level(
    sig: EmbeddedPdfSignature,
    claimed: datetime | None,
    evidence: _Evidence,
    timestamps: list[EmbeddedPdfSignature],
) -> str:
    """The PAdES baseline level the file has for ``sig`` (whether or not it verifies)."""
    if claimed is None:
        return "B-B"
    if not evidence.has_dss:
        return "B-T"
    if any(stamp.signed_revision > sig.signed_revision for stamp in timestamps):
        return "B-LTA"
    return "B-LT"


async def _verify(
    signatures: list[EmbeddedPdfSignature], evidence: _Evidence, now: datetime
) -> tuple[_Checked, str, datetime | None, str]:
    regular = [sig for sig in signatures if sig.sig_object_type == "/Sig"]
    timestamps = [sig for sig in signatures if sig.sig_object_type == "/DocTimeStamp"]
    checked = _Checked()
    signer, signed_at, level = "", None, ""
    try:
        proven = await _check_document_timestamps(timestamps, evidence, now, checked)
        for sig in regular:
            try:
                signer, signed_at, level = await _check_signature(
                    sig, evidence, now, proven, checked, timestamps
                )
            except Exception as exc:
                checked.valid = checked.intact = checked.trusted = False
                checked.reasons.append(f"Signature {sig.field_name!r} could not be validated: {exc}")
    finally:
        for context in evidence.contexts:
            await context.aclose()
    return checked, signer, signed_at, level


def pades_verify(
    pdf: bytes,
    *,
    trust_roots: list[x509.Certificate],
    tsa_roots: list[x509.Certificate] | None = None,
    crls: list[x509.CertificateRevocationList] | None = None,
    validation_time: datetime | None = None,
) -> PdfSignatureResult:
    """Check every signature and document time-stamp in the PDF, offline, as of signing time.

    Signers chain to ``trust_roots``; time-stamps to ``trust_roots`` or ``tsa_roots``.
    ``validation_time`` (default: now) is the moment the verification happens.

    - The newest document time-stamp is checked as of ``validation_time``, each older one as
      of the next one's time: that chain proves when each revision of the file existed.
    - A signature's own time-stamp is checked as of the time the oldest covering document
      time-stamp proves (else as of ``validation_time``); its time is then when the signature
      was made, and the signer's certificate is checked as of that time. So a B-T, B-LT or
      B-LTA signature stays valid after its certificate expired, as long as the time-stamps
      can be checked; a B-B signature is checked as of ``validation_time``.
    - Revocation: with the CRLs the file carries (its DSS) and ``crls`` (fresher ones from the
      verifier); a certificate revoked before the time it is checked at, or ever for key
      compromise, is not trusted. Nothing is fetched.
    - After a signature only validation data and document time-stamps may be added, and the
      last signature or time-stamp must cover the whole file.

    Never raises for a malformed or tampered file: the reasons say what is wrong. `signer` is
    the subject of the last signature's certificate, `signed_at` the time its time-stamp proves.
    """
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        # Read once: pyHanko parses each signature's hex /Contents digit by digit.
        signatures = list(reader.embedded_signatures)
        evidence = _evidence(reader, trust_roots, tsa_roots or [], crls or [])
    except Exception as exc:
        return PdfSignatureResult(False, False, False, "", [f"The file could not be read as a PDF: {exc}"])
    if not any(sig.sig_object_type == "/Sig" for sig in signatures):
        return PdfSignatureResult(False, False, False, "", ["The PDF carries no signature."])
    now = _utc(validation_time) if validation_time is not None else datetime.now(UTC)
    try:
        checked, signer, signed_at, level = _run(_verify(signatures, evidence, now))
    except Exception as exc:
        return PdfSignatureResult(False, False, False, "", [f"The signatures could not be validated: {exc}"])
    return PdfSignatureResult(
        valid=checked.valid,
        intact=checked.intact,
        trusted=checked.trusted,
        signer=signer,
        reasons=checked.reasons,
        signed_at=signed_at,
        level=level,
    )


# --- attachments ----------------------------------------------------------------------------------


def _text(obj: Any) -> str:
    """A PDF string (text or bytes) as str."""
    obj = obj.get_object() if isinstance(obj, generic.IndirectObject) else obj
    if isinstance(obj, bytes):
        return obj.decode("latin-1")
    return str(obj)


def _name_tree_get(node: generic.DictionaryObject, name: str, depth: int = 0) -> Any:
    if depth > _MAX_NAME_TREE_DEPTH:
        return None
    names = node.get("/Names")
    if names is not None:
        pairs = names.get_object()
        for i in range(0, len(pairs) - 1, 2):
            if _text(pairs[i]) == name:
                return pairs[i + 1].get_object()
    kids = node.get("/Kids")
    if kids is not None:
        for kid in kids.get_object():
            kid = kid.get_object()
            limits = kid.get("/Limits")
            if limits is not None and not _text(limits[0]) <= name <= _text(limits[1]):
                continue
            found = _name_tree_get(kid, name, depth + 1)
            if found is not None:
                return found
    return None


def pdf_attachment(pdf: bytes, name: str) -> bytes | None:
    """The bytes of the embedded file called `name`; None if there is none, or if `pdf` cannot
    be read as a PDF at all (a verifier then simply finds no payload).

    Looks the name up in the document's `/EmbeddedFiles` name tree, then among the
    catalogue's associated files (`/AF`) by their `/UF` or `/F` file name. Reads the latest
    revision, so a signed file's attachments are those of the document that was signed
    unless an update after signing replaced them (which `pades_verify` reports).
    """
    try:
        root = PdfFileReader(BytesIO(pdf), strict=False).root
    except Exception:
        return None
    spec = None
    names = root.get("/Names")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        spec = _name_tree_get(names.get_object()["/EmbeddedFiles"].get_object(), name)
    if spec is None:
        for ref in root.get("/AF", generic.ArrayObject()):
            candidate = ref.get_object()
            if name in (_text(candidate.get("/UF", "")), _text(candidate.get("/F", ""))):
                spec = candidate
                break
    if not isinstance(spec, generic.DictionaryObject) or "/EF" not in spec:
        return None
    ef = spec["/EF"].get_object()
    stream = ef.get("/UF") or ef.get("/F")
    if stream is None:
        return None
    data: bytes = stream.get_object().data
    return data
