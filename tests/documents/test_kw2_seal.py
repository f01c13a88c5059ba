"""Documents with payload v2 are sealed with KW2: their QR's site and public id are signed.

Until documents/services.py issues payload v2 itself, these tests reseal an issued document as
v2 (what ``services.document_issue`` will do through ``seal_payload``), then check the Django
glue: ``facts_of``/``qr_of``, ``qr_verify``, the public verification page and ``khutwa verify``."""

import dataclasses
import json

import pytest
from django.conf import settings
from django.core.management import call_command

from khutwa.documents.pdf import document_pdf, facts_of, qr_of
from khutwa.documents.signing import jwks, signing_material
from khutwa.documents.verification import qr_verify
from khutwa.trust.qr import qr_content
from khutwa.trust.seal import sign_seal
from khutwa.trust.verify import verify_qr

pytestmark = pytest.mark.django_db
OTHER_SITE = "https://khutwa-example.bh"


@pytest.fixture
def issue_v1(issue, monkeypatch):
    """A document as issued before payload version 2 (sealed KW1)."""
    from khutwa.documents import services

    monkeypatch.setattr(services, "PAYLOAD_VERSION", 1)
    return issue


def run_verify(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        call_command("verify", *args)
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out + captured.err


@pytest.fixture
def keys(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(jwks()))
    return str(path)


def test_a_v1_document_keeps_its_kw1_qr(issue_v1):
    invoice = issue_v1("quotation")
    assert facts_of(invoice).version == "KW1"
    assert "?s=KW1~" in qr_of(invoice)
    assert qr_verify(invoice, qr_of(invoice)) == []


def test_a_v2_documents_qr_is_kw2_and_verifies_with_its_payload(issue):
    invoice = issue("invoice")
    facts = facts_of(invoice)
    assert (facts.version, facts.site, facts.public_id) == (
        "KW2",
        settings.KHUTWA_SITE_URL,
        str(invoice.public_id),
    )
    content = qr_of(invoice)
    assert content.startswith(f"{settings.KHUTWA_SITE_URL}/verify/{invoice.public_id}?s=KW2~INV~")
    result = verify_qr(content, jwks(), expected_base_url=settings.KHUTWA_SITE_URL, payload=invoice.payload)
    assert result.valid and result.signed_site == settings.KHUTWA_SITE_URL
    assert qr_verify(invoice, content) == []


def test_qr_verify_refuses_a_kw2_qr_signed_for_another_site(issue):
    invoice = issue("invoice")
    _kid, key = signing_material()
    other = dataclasses.replace(facts_of(invoice), site=OTHER_SITE)
    content = qr_content(OTHER_SITE, str(invoice.public_id), other, sign_seal(other, key))
    assert verify_qr(content, jwks()).valid  # genuinely signed, for another site
    reasons = qr_verify(invoice, content)
    assert (
        f"the document is signed for the site {OTHER_SITE}, not the official site {settings.KHUTWA_SITE_URL}"
        in reasons
    )
    assert f"the sealed site {OTHER_SITE!r} is not the document's" in reasons


def test_a_kw2_qr_keeps_verifying_on_the_page_after_the_site_moves(client, issue):
    invoice = issue("invoice")
    content = qr_of(invoice)
    query = content.split("?", 1)[1]
    assert 'data-valid="true"' in client.get(f"/en/verify/{invoice.public_id}?{query}").content.decode()
    forged = query[:-1] + ("A" if query[-1] != "A" else "B")
    assert 'data-valid="false"' in client.get(f"/en/verify/{invoice.public_id}?{forged}").content.decode()
    settings.KHUTWA_SITE_URL = "https://khutwa.gov.bh"  # the platform moves (old URLs redirect)
    assert qr_of(invoice) == content  # the QR names the site its document was sealed for
    assert 'data-valid="true"' in client.get(f"/en/verify/{invoice.public_id}?{query}").content.decode()


def test_khutwa_verify_qr_refuses_another_site(issue, keys, capsys):
    invoice = issue("invoice")
    content = qr_of(invoice)
    code, out = run_verify(capsys, "--qr", content, "--keys", keys, "--site", settings.KHUTWA_SITE_URL + "/")
    assert code == 0 and f"seal KW2: signed for the site {settings.KHUTWA_SITE_URL}" in out
    code, out = run_verify(capsys, "--qr", content, "--keys", keys, "--site", OTHER_SITE)
    site = settings.KHUTWA_SITE_URL
    assert code == 1
    assert f"reason: the document is signed for the site {site}, not the official site {OTHER_SITE}" in out
    # the site of a KW2 QR is signed: rewriting it breaks the signature, --site or not
    moved = content.replace(settings.KHUTWA_SITE_URL, OTHER_SITE, 1)
    code, out = run_verify(capsys, "--qr", moved, "--keys", keys)
    assert code == 1 and "reason: signature does not match the seal" in out


def test_khutwa_verify_pdf_refuses_another_site(issue, keys, capsys, tmp_path):
    # a quotation: no UBL, whose writer does not take payload v2 yet
    quotation = issue("invoice")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(document_pdf(quotation))
    code, out = run_verify(capsys, str(path), "--keys", keys, "--site", settings.KHUTWA_SITE_URL)
    assert code == 0 and out.startswith("VALID") and "seal KW2: signed for the site" in out
    code, out = run_verify(capsys, str(path), "--keys", keys, "--site", OTHER_SITE)
    assert code == 1 and out.startswith("INVALID")
    assert (
        f"the document is signed for the site {settings.KHUTWA_SITE_URL}, not the official site {OTHER_SITE}"
        in out
    )


def test_khutwa_verify_site_for_kw1_checks_the_unsigned_url(issue_v1, keys, capsys):
    invoice = issue_v1("quotation")
    content = qr_of(invoice)
    code, out = run_verify(capsys, "--qr", content, "--keys", keys, "--site", settings.KHUTWA_SITE_URL)
    assert code == 0 and "seal KW1: the QR's site and public id are not signed" in out
    code, out = run_verify(capsys, "--qr", content, "--keys", keys, "--site", OTHER_SITE)
    assert code == 1 and f"the QR does not point to the official site {OTHER_SITE}" in out
