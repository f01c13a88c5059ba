"""PAdES B-LTA: a signature time-stamp, validation data in the DSS, a document time-stamp; and
verification as of signing time, so that a PDF stays valid after its certificates expire.

Every "later" here is a validation time moved forward (pyHanko's) or a frozen clock
(freezegun), and every test that says "still valid" has a twin that shows what fails without
the time-stamps.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from freezegun import freeze_time
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from khutwa.trust.keys import KeyStore
from khutwa.trust.pdf import PdfSignatureResult, pades_sign, pades_timestamp, pades_verify, render_pdfa3
from khutwa.trust.tsa import LocalTimeStamper, TimestampAuthority
from tests.pdfsig import pdfsig
from tests.trust.test_pdf import ATTACHMENTS, HTML, PDFAID, _xmp, _xmp_value

PASSPHRASE = b"ltv test passphrase"
CRL_URL = "http://127.0.0.1:9/.well-known/khutwa-ca-{ca}.crl"
DAY = dt.timedelta(days=1)


@dataclass
class Platform:
    store: KeyStore

    def stamper(self) -> LocalTimeStamper:
        key, certificate, chain = self.store.tsa_credentials()
        return LocalTimeStamper(TimestampAuthority(key=key, certificate=certificate, chain=chain))

    def sign(self, pdf: bytes, *, lta: bool = True, stamper: LocalTimeStamper | None = None) -> bytes:
        key, certificate, chain = self.store.pades_credentials()
        if not lta:
            return pades_sign(pdf, key=key, certificate=certificate, chain=chain, reason="Official")
        return pades_sign(
            pdf,
            key=key,
            certificate=certificate,
            chain=chain,
            reason="Official",
            timestamper=stamper or self.stamper(),
            crls=self.store.crls(),
        )

    def verify(self, pdf: bytes, at: dt.datetime | None = None, **kwargs: object) -> PdfSignatureResult:
        return pades_verify(pdf, trust_roots=self.store.trust_roots(), validation_time=at, **kwargs)  # type: ignore[arg-type]

    @property
    def signing_expiry(self) -> dt.datetime:
        return self.store.pades_credentials()[1].not_valid_after_utc

    @property
    def tsa_expiry(self) -> dt.datetime:
        return self.store.tsa_credentials()[1].not_valid_after_utc


def new_platform(directory: Path) -> Platform:
    store = KeyStore(directory, PASSPHRASE, crl_url=CRL_URL)
    store.init()
    return Platform(store)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Platform:
    return new_platform(tmp_path_factory.mktemp("ltv") / "keys")


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_pdfa3(HTML, attachments=ATTACHMENTS, title="فاتورة INV-2025-000042", lang="ar")


@pytest.fixture(scope="module")
def lta(platform: Platform, pdf: bytes) -> bytes:
    return platform.sign(pdf)


@pytest.fixture(scope="module")
def bb(platform: Platform, pdf: bytes) -> bytes:
    return platform.sign(pdf, lta=False)


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


# --- the file ---------------------------------------------------------------------------------------


def test_pdfsig_sees_a_valid_signature_and_a_time_stamp_over_the_whole_file(
    lta: bytes, tmp_path: Path
) -> None:
    code, output, entries = pdfsig(lta, tmp_path)
    assert code == 0, output
    signature, stamp = entries
    assert signature.valid, signature.text
    assert signature.field("Signature Type") == "ETSI.CAdES.detached"
    assert signature.field("Signature Field Name") == "KhutwaSignature"
    assert stamp.field("Signature Field Name") == "KhutwaSignatureTimestamp"
    assert stamp.field("Signer Certificate Common Name") == "Khutwa Time-Stamping Authority"
    assert stamp.covers_whole_file, stamp.text  # the document time-stamp is the last revision


def test_b_lta_is_incremental_and_stays_pdfa_3(pdf: bytes, lta: bytes) -> None:
    assert lta.startswith(pdf)
    reader = PdfFileReader(BytesIO(lta))
    assert reader.xrefs.total_revisions == 3  # WeasyPrint's, the signature (with its DSS), the time-stamp
    xmp = _xmp(lta)
    assert _xmp_value(xmp, PDFAID, "part") == "3"
    assert _xmp_value(xmp, PDFAID, "conformance") == "B"
    [stamp] = reader.embedded_timestamp_signatures
    assert stamp.sig_field["/F"] & 4  # printable, as PDF/A requires of annotations
    assert stamp.sig_object["/SubFilter"] == "/ETSI.RFC3161"


def test_the_validation_data_is_embedded(platform: Platform, lta: bytes) -> None:
    reader = PdfFileReader(BytesIO(lta))
    dss = reader.root["/DSS"]
    crls = [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss["/CRLs"]]
    assert [crl["tbs_cert_list"]["issuer"].native["common_name"] for crl in crls] == [
        "Khutwa Platform Root CA"
    ]
    from asn1crypto import x509 as asn1_x509

    names = {
        asn1_x509.Certificate.load(ref.get_object().data).subject.native["common_name"]
        for ref in dss["/Certs"]
    }
    assert {"Khutwa Document Signing", "Khutwa Time-Stamping Authority", "Khutwa Platform Root CA"} <= names
    signature = reader.embedded_regular_signatures[0]
    unsigned = signature.signer_info["unsigned_attrs"]
    assert [attribute["type"].native for attribute in unsigned] == ["signature_time_stamp_token"]
    # the certificates name the CRL's public address
    _, certificate, [root] = platform.store.pades_credentials()
    from cryptography import x509

    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    from khutwa.trust.keys import root_id

    assert points[0].full_name[0].value == CRL_URL.format(ca=root_id(root))


def test_verified_now(platform: Platform, lta: bytes) -> None:
    result = platform.verify(lta)
    assert result.ok, result.reasons
    assert result.level == "B-LTA"
    assert result.signed_at is not None
    assert abs(result.signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert "CN=Khutwa Document Signing" in result.signer


# --- verification as of signing time ----------------------------------------------------------------


@pytest.mark.parametrize("later", ["a day after the signing certificate expired", "ten years on"])
def test_still_valid_after_the_signing_certificate_expired(
    platform: Platform, lta: bytes, bb: bytes, later: str
) -> None:
    at = platform.signing_expiry + DAY
    if later == "ten years on":
        at = dt.datetime.now(dt.UTC) + dt.timedelta(days=3653)
    result = platform.verify(lta, at)
    assert result.ok, result.reasons
    # ...which a B-B signature is not: it is checked as of the validation time
    result = platform.verify(bb, at)
    assert (result.valid, result.intact, result.trusted) == (True, True, False)
    assert result.level == "B-B" and result.signed_at is None
    assert any("not trusted as of" in r and "not valid at that time" in r for r in result.reasons), (
        result.reasons
    )


def test_with_the_clock_moved_past_expiry(platform: Platform, lta: bytes, bb: bytes) -> None:
    """The same with freezegun: nobody passes a validation time, the clock is just later."""
    with freeze_time(platform.signing_expiry + 30 * DAY):
        assert pades_verify(lta, trust_roots=platform.store.trust_roots()).ok
        assert not pades_verify(bb, trust_roots=platform.store.trust_roots()).ok


def test_past_the_tsa_certificate_it_needs_a_newer_time_stamp(tmp_path: Path, pdf: bytes) -> None:
    """Past the TSA certificate's expiry (twelve years) the time-stamps can no longer be checked,
    unless an archive time-stamp was added in time with a newer TSA certificate (B-LTA's
    purpose). The TSA certificate outlives its key's use by ten years, so that is rarely needed."""
    platform = new_platform(tmp_path / "keys")
    signed = platform.sign(pdf)
    old_expiry = platform.tsa_expiry
    result = platform.verify(signed, old_expiry + DAY)
    assert not result.ok
    assert any("Document time-stamp" in r and "not valid at that time" in r for r in result.reasons), (
        result.reasons
    )

    with freeze_time(old_expiry - 60 * DAY):
        platform.store.renew()  # a new TSA certificate, which lasts twelve years from now
        extended = pades_timestamp(
            signed,
            timestamper=platform.stamper(),
            trust_roots=platform.store.trust_roots(),
            crls=platform.store.crls(),
        )
    assert extended.startswith(signed)
    assert len(PdfFileReader(BytesIO(extended)).embedded_timestamp_signatures) == 2
    result = platform.verify(extended, old_expiry + 365 * DAY)
    assert result.ok, result.reasons
    assert result.level == "B-LTA"


# --- tampering ----------------------------------------------------------------------------------------


def test_a_flipped_byte_in_the_signed_content(platform: Platform, lta: bytes, tmp_path: Path) -> None:
    offset = lta.index(b"stream\n", len(lta) // 5) + 100
    assert offset < lta.index(b"/Contents <")
    tampered = _flip(lta, offset)
    result = platform.verify(tampered)
    assert not result.valid and not result.intact and not result.ok
    assert any("changed" in r for r in result.reasons), result.reasons
    _, _, entries = pdfsig(tampered, tmp_path)
    assert not entries[0].valid


def test_a_flipped_byte_in_the_validation_data(platform: Platform, lta: bytes) -> None:
    """The DSS is in the signature's revision, so the signature and the document time-stamp
    both cover it."""
    reader = PdfFileReader(BytesIO(lta))
    crl_ref = reader.root["/DSS"]["/CRLs"].raw_get(0)
    marker = f"\n{crl_ref.idnum} 0 obj".encode()
    offset = lta.index(b"stream", lta.index(marker)) + 40
    result = platform.verify(_flip(lta, offset))
    assert not result.ok and not result.intact, result.reasons


def test_changes_after_the_document_time_stamp(platform: Platform, lta: bytes) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(lta))
    info = writer.trailer["/Info"].get_object()
    info["/Title"] = generic.TextStringObject("Changed")
    writer.update_container(info)
    out = BytesIO()
    writer.write(out)
    result = platform.verify(out.getvalue())
    assert result.valid and not result.intact and not result.ok
    assert any("changed after" in r for r in result.reasons), result.reasons


def test_the_xmp_may_only_change_its_dates_after_signing(platform: Platform, pdf: bytes) -> None:
    """pyHanko writes the XMP modification date again in the time-stamp's revision: accepted
    (a stamper that takes over a second makes sure the dates differ); any other XMP change is not."""

    class Slow(LocalTimeStamper):
        async def async_request_tsa_response(self, req):  # type: ignore[no-untyped-def]
            await asyncio.sleep(1.1)
            return await super().async_request_tsa_response(req)

    signed = platform.sign(pdf, stamper=Slow(platform.stamper().authority))
    reader = PdfFileReader(BytesIO(signed))
    signature_revision = reader.embedded_regular_signatures[0].signed_revision
    resolvers = [reader.get_historical_resolver(r) for r in (signature_revision, 2)]
    revisions = [h(h.root.raw_get("/Metadata").reference).data for h in resolvers]
    assert revisions[0] != revisions[1]  # the dates differ, nothing else
    assert platform.verify(signed).ok

    writer = IncrementalPdfFileWriter(BytesIO(signed))
    data = writer.root["/Metadata"].get_object().data
    assert b"INV-2025-000042" in data
    stream = generic.StreamObject(
        {generic.NameObject("/Type"): generic.NameObject("/Metadata")},
        stream_data=data.replace(b"INV-2025-000042", b"INV-2025-000099"),
    )
    writer.root["/Metadata"] = writer.add_object(stream)
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    result = platform.verify(out.getvalue())
    assert not result.intact and not result.ok, result.reasons


# --- revocation, renewal, rollover ----------------------------------------------------------------


def test_revocation_after_signing_keeps_earlier_signatures_but_not_a_compromised_key(
    tmp_path: Path, pdf: bytes
) -> None:
    platform = new_platform(tmp_path / "keys")
    signed = platform.sign(pdf)
    serial = platform.store.pades_credentials()[1].serial_number

    with freeze_time(dt.datetime.now(dt.UTC) + DAY):
        platform.store.revoke(serial, "superseded")
        platform.store.renew()
        fresh = platform.store.crls()
    revoked = [r.serial_number for crl in fresh for r in crl]
    assert serial in revoked
    result = platform.verify(signed, at=dt.datetime.now(dt.UTC) + 2 * DAY, crls=fresh)
    assert result.ok, result.reasons  # revoked a day after the time-stamped signing time

    other = new_platform(tmp_path / "other")
    signed_2 = other.sign(pdf)
    serial_2 = other.store.pades_credentials()[1].serial_number
    with freeze_time(dt.datetime.now(dt.UTC) + DAY):  # a day later: a stolen key signs any date
        other.store.revoke(serial_2, "key_compromise")
        crls = other.store.crls()
    result = other.verify(signed_2, at=other.signing_expiry + DAY, crls=crls)
    assert not result.trusted and not result.ok
    assert any("compromised" in r for r in result.reasons), result.reasons
    # without the fresh CRL, the verifier has only what the PDF carries (issued before)
    assert other.verify(signed_2).ok


def test_pdfs_signed_before_a_renewal_or_a_root_rollover_keep_verifying(tmp_path: Path, pdf: bytes) -> None:
    platform = new_platform(tmp_path / "keys")
    first_root = platform.store.ca_certificate()
    before = platform.sign(pdf)
    old_serial = platform.store.pades_credentials()[1].serial_number

    assert platform.store.renew() == ["document_signing", "tsa"]
    renewed = platform.sign(pdf)
    assert platform.store.pades_credentials()[1].serial_number != old_serial
    assert platform.verify(before).ok and platform.verify(renewed).ok

    assert platform.store.renew(root=True) == ["root", "document_signing", "tsa"]
    new_root = platform.store.ca_certificate()
    assert new_root != first_root
    assert platform.store.trust_roots() == [new_root, first_root]
    after = platform.sign(pdf)
    for signed in (before, renewed, after):
        result = platform.verify(signed, platform.signing_expiry + 400 * DAY)
        assert result.ok, result.reasons
    # the old root still matters: without it, the PDFs signed under it are not trusted
    assert not pades_verify(before, trust_roots=[new_root]).trusted
    assert pades_verify(after, trust_roots=[new_root]).ok


def test_an_external_tsa_is_trusted_for_time_stamps_only(tmp_path: Path, pdf: bytes) -> None:
    """A national TSA: its root verifies time-stamps, never signers."""
    platform = new_platform(tmp_path / "keys")
    national = new_platform(tmp_path / "national")
    key, certificate, chain = platform.store.pades_credentials()
    signed = pades_sign(
        pdf,
        key=key,
        certificate=certificate,
        chain=chain,
        reason="Official",
        timestamper=national.stamper(),
        crls=platform.store.crls(),
        validation_roots=[*platform.store.trust_roots(), national.store.ca_certificate()],
        revocation="soft-fail",
    )
    roots = platform.store.trust_roots()
    national_root = national.store.ca_certificate()
    later = platform.signing_expiry + DAY
    assert pades_verify(signed, trust_roots=roots, tsa_roots=[national_root], validation_time=later).ok
    result = pades_verify(signed, trust_roots=roots, validation_time=later)
    assert not result.ok and any("time-stamp" in r for r in result.reasons), result.reasons
    # the national root does not make a signer trusted
    key_2, certificate_2, chain_2 = national.store.pades_credentials()
    theirs = pades_sign(pdf, key=key_2, certificate=certificate_2, chain=chain_2, reason="x")
    assert not pades_verify(theirs, trust_roots=roots, tsa_roots=[national_root]).trusted
