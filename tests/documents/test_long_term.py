"""Documents' PDFs stay verifiable for years: B-LTA signatures from the platform's TSA (or an
external one over HTTP), verified online and offline as of signing time, the TSA and CRL
endpoints, and `khutwa keys renew` / `check`."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.test import Client
from freezegun import freeze_time

from khutwa.documents.pdf import document_pdf
from khutwa.documents.signing import cache_clear, jwks, key_store
from khutwa.documents.verification import pdf_verify
from khutwa.trust.keys import root_id
from khutwa.trust.pdf import pades_verify
from khutwa.trust.tsa import MAX_REQUEST_BYTES
from tests.pdfsig import pdfsig
from tests.trust.test_tsa import granted, rejected, request

pytestmark = pytest.mark.django_db
OPENSSL = shutil.which("openssl") or "openssl"


@pytest.fixture
def own_keys(settings, tmp_path):
    """A key store of this test alone (it renews, or moves the clock)."""
    settings.KHUTWA_KEY_DIR = tmp_path / "keys"
    cache_clear()
    yield settings.KHUTWA_KEY_DIR
    cache_clear()


def verify_offline(pdf: bytes, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    keys = tmp_path / "khutwa-keys.json"
    keys.write_text(json.dumps(jwks()))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("verify", str(path), "--keys", str(keys), stdout=out, stderr=err)
    return int(exit_.value.code or 0), out.getvalue() + err.getvalue()


def test_a_document_pdf_is_b_lta_and_pdfsig_agrees(issue, tmp_path):
    pdf = document_pdf(issue("invoice"))
    code, output, entries = pdfsig(pdf, tmp_path)
    assert code == 0, output
    assert entries[0].valid and entries[0].field("Signature Type") == "ETSI.CAdES.detached"
    assert entries[-1].covers_whole_file
    result = pades_verify(pdf, trust_roots=key_store().trust_roots())
    assert result.ok and result.level == "B-LTA", result.reasons


def test_valid_online_and_offline_after_the_signing_certificate_expired(issue, tmp_path, own_keys):
    invoice = issue("invoice")
    pdf = document_pdf(invoice)
    expiry = key_store().pades_credentials()[1].not_valid_after_utc
    with freeze_time(expiry + dt.timedelta(days=30)):
        cache_clear()
        assert pdf_verify(pdf).valid, pdf_verify(pdf).reasons
        code, output = verify_offline(pdf, tmp_path)
    assert code == 0, output
    assert "PAdES B-LTA, signed at" in output


def test_offline_verification_still_catches_tampering(issue, tmp_path):
    pdf = bytearray(document_pdf(issue("invoice")))
    position = pdf.index(b"/Producer")
    pdf[position + 1] ^= 0x01
    code, output = verify_offline(bytes(pdf), tmp_path)
    assert code == 1
    assert "CHANGED after signing" in output


def test_keys_renew_new_pdfs_use_the_new_certificate_old_ones_keep_verifying(issue, tmp_path, own_keys):
    before = document_pdf(issue("invoice"))
    old = key_store().pades_credentials()[1]
    out = io.StringIO()
    call_command("keys", "renew", stdout=out)
    assert "renewed: document-signing certificate, time-stamping certificate" in out.getvalue()
    new = key_store().pades_credentials()[1]
    assert new.serial_number != old.serial_number
    after = document_pdf(issue("invoice"))
    signer_serials = []
    for pdf in (before, after):
        from pyhanko.pdf_utils.reader import PdfFileReader

        signer_serials.append(
            PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures[0].signer_cert.serial_number
        )
        assert pdf_verify(pdf).valid
        assert verify_offline(pdf, tmp_path)[0] == 0
    assert signer_serials == [old.serial_number, new.serial_number]


def test_keys_check_warns_sixty_days_ahead_and_renews(own_keys):
    store = key_store()
    store.init()
    out, err = io.StringIO(), io.StringIO()
    call_command("keys", "check", stdout=out, stderr=err)  # returns: nothing is due
    assert "OK: nothing to replace within 60 days" in out.getvalue()
    assert "document-signing certificate" in out.getvalue() and "time-stamping certificate" in out.getvalue()
    expiry = store.pades_credentials()[1].not_valid_after_utc
    with freeze_time(expiry - dt.timedelta(days=59)):
        with pytest.raises(SystemExit) as exit_:
            call_command("keys", "check", stdout=io.StringIO(), stderr=err)
        assert exit_.value.code == 1
        assert "WARNING: the document-signing certificate must be replaced by" in err.getvalue()
        assert "WARNING: the time-stamping certificate must be replaced by" in err.getvalue()  # same 2 years
        out = io.StringIO()
        call_command("keys", "check", "--renew", stdout=out, stderr=io.StringIO())
        assert "renewed: document-signing certificate, time-stamping certificate" in out.getvalue()
        assert "OK: nothing to replace" in out.getvalue()
        assert key_store().pades_credentials()[1].not_valid_after_utc > expiry


def test_an_old_ten_year_root_is_flagged_and_rolled_over(own_keys, monkeypatch):
    """Stores made before this change have a 10-year root: too short for a TSA certificate that
    must last twelve. `check` says so; `check --renew` rolls the root over, keeping the old one
    published."""
    from khutwa.trust import keys as keys_module

    with monkeypatch.context() as patched:
        patched.setattr(keys_module, "ROOT_CA_DAYS", 3652)
        store = key_store()
        store.init()
    old_root = store.ca_certificate()
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("keys", "check", stdout=io.StringIO(), stderr=err)
    assert "WARNING: the root CA must be replaced by" in err.getvalue()
    call_command("keys", "check", "--renew", stdout=io.StringIO(), stderr=io.StringIO())
    published = jwks()
    assert len(published["x5c_roots"]) == 2
    assert (
        x509.load_der_x509_certificate(__import__("base64").b64decode(published["x5c_roots"][1])) == old_root
    )
    assert key_store().tsa_credentials()[2][0] != old_root


def test_an_older_key_store_keeps_working(issue, tmp_path, own_keys):
    """A store written before this change (index format 1: no TSA, no CRL) is read as it is and
    completed on first use; PDFs signed before stay valid."""
    store = key_store()
    store.init()
    index = json.loads((own_keys / "keys.json").read_text())
    index["format"] = 1
    del index["tsa"]
    (own_keys / "keys.json").write_text(json.dumps(index))
    for name in ("tsa.pem", "tsa.key.pem", "root-ca.crl"):
        (own_keys / name).unlink()
    assert key_store().jwks()["x5c_root"]  # readable without any change
    pdf = document_pdf(issue("invoice"))  # completes it
    assert json.loads((own_keys / "keys.json").read_text())["format"] == 2
    assert (own_keys / "tsa.pem").exists() and (own_keys / "root-ca.crl").exists()
    assert pdf_verify(pdf).valid


# --- the TSA and CRL endpoints ------------------------------------------------------------------


def test_post_tsa_grants_a_token_for_a_proper_query(tmp_path):
    client = Client(enforce_csrf_checks=True)  # no CSRF token needed
    response = client.post("/tsa", data=request(b"abc"), content_type="application/timestamp-query")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/timestamp-reply"
    info, _ = granted(response.content)
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"abc").digest()
    # and openssl agrees, against the published root
    root = tmp_path / "root.pem"
    root.write_bytes(key_store().ca_certificate().public_bytes(serialization.Encoding.PEM))
    (tmp_path / "data").write_bytes(b"abc")
    (tmp_path / "reply.tsr").write_bytes(response.content)
    done = subprocess.run(  # noqa: S603
        [
            OPENSSL,
            "ts",
            "-verify",
            "-in",
            str(tmp_path / "reply.tsr"),
            "-data",
            str(tmp_path / "data"),
            "-CAfile",
            str(root),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"garbage", "application/timestamp-query", 200),  # a rejection, in RFC 3161 terms
        (request(algorithm="sha1"), "application/timestamp-query", 200),
        (request(), "application/octet-stream", 400),
        (b"x" * (MAX_REQUEST_BYTES + 1), "application/timestamp-query", 413),
    ],
)
def test_post_tsa_refuses_bad_input_without_an_error(body, content_type, status):
    response = Client().post("/tsa", data=body, content_type=content_type)
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/timestamp-reply"
        assert rejected(response.content)[0] <= {"bad_data_format", "bad_alg"}


def test_get_tsa_is_not_allowed():
    assert Client().get("/tsa").status_code == 405


def test_the_crl_is_published_and_verifies_against_the_root(tmp_path):
    store = key_store()
    store.init()
    root = store.ca_certificate()
    client = Client()
    response = client.get("/.well-known/khutwa-ca.crl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc is not None
    assert crl.next_update_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    (tmp_path / "ca.crl").write_bytes(response.content)
    (tmp_path / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    done = subprocess.run(  # noqa: S603
        [
            OPENSSL,
            "crl",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "ca.crl"),
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-noout",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "verify OK" in done.stdout + done.stderr, done.stdout + done.stderr
    # the address the certificates name serves the same CRL; an unknown root is a 404
    _, certificate, _ = store.pades_credentials()
    [point] = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    url = point.full_name[0].value
    assert url.endswith(f"/.well-known/khutwa-ca-{root_id(root)}.crl")
    assert client.get(url.split("127.0.0.1:8000", 1)[1]).content == response.content
    assert client.get("/.well-known/khutwa-ca-0123456789abcdef.crl").status_code == 404


def test_the_crl_is_refreshed_before_its_next_update(own_keys):
    store = key_store()
    store.init()
    first = x509.load_der_x509_crl(Client().get("/.well-known/khutwa-ca.crl").content)
    with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=4)):  # less than half of 7 days left
        second = x509.load_der_x509_crl(Client().get("/.well-known/khutwa-ca.crl").content)
    number = lambda crl: crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number  # noqa: E731
    assert number(second) == number(first) + 1
    assert second.next_update_utc > first.next_update_utc


# --- an external TSA, over HTTP ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_external_tsa_over_http(live_server, settings, issue, tmp_path):
    """KHUTWA_TSA_URL: pyHanko's HTTP time stamper asks it (here the platform's own /tsa, served
    on 127.0.0.1, standing in for a national TSA)."""
    settings.KHUTWA_TSA_URL = f"{live_server.url}/tsa"
    cache_clear()
    pdf = document_pdf(issue("invoice"))
    result = pades_verify(pdf, trust_roots=key_store().trust_roots())
    assert result.ok and result.level == "B-LTA", result.reasons
    assert pdf_verify(pdf).valid
    settings.KHUTWA_TSA_URL = "http://127.0.0.1:9/tsa"  # nobody listens: signing fails, loudly
    cache_clear()
    from khutwa.trust.pdf import PadesSigningError

    with pytest.raises(PadesSigningError, match="timestamp server"):
        document_pdf(issue("invoice"))


def test_the_upload_page_says_when_it_was_signed_even_years_later(client, issue, own_keys):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    pdf = document_pdf(issue("invoice"))
    signed_at = pades_verify(pdf, trust_roots=key_store().trust_roots()).signed_at
    assert signed_at is not None
    expiry = key_store().pades_credentials()[1].not_valid_after_utc
    assert client.get("/en/verify/").status_code == 200  # URLs (and the API's schemas) loaded now
    with freeze_time(expiry + dt.timedelta(days=365)):
        cache_clear()
        page = client.post("/en/verify/", {"file": SimpleUploadedFile("a.pdf", pdf, "application/pdf")})
    html = page.content.decode()
    assert 'data-valid="true"' in html
    local = timezone.localtime(signed_at).strftime("%Y-%m-%d %H:%M")  # Bahrain time
    assert f"Signed on <bdi>{local}</bdi>, as its time-stamp proves." in html
