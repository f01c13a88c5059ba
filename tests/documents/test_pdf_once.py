"""Issue 14: what a signed PDF needs beyond its render is made once per process — the font
configuration, the signer's key material and certificates, the CRLs — and a renewal of the
certificates (`khutwa keys renew`) is picked up by the next signature."""

from __future__ import annotations

import pytest

from khutwa.documents import signing
from khutwa.documents.pdf import document_pdf_unsigned
from khutwa.trust import keys as trust_keys
from khutwa.trust import pdf as trust_pdf

pytestmark = pytest.mark.django_db


def test_fonts_and_signing_material_are_loaded_once_and_renewal_is_picked_up(issue, monkeypatch):
    invoice = issue("invoice")
    signing.cache_clear()
    credentials: list[int] = []
    real_credentials = trust_keys.KeyStore.pades_credentials

    def counting_credentials(self):  # type: ignore[no-untyped-def]
        credentials.append(1)
        return real_credentials(self)

    monkeypatch.setattr(trust_keys.KeyStore, "pades_credentials", counting_credentials)
    import weasyprint.text.fonts

    configurations: list[int] = []
    real_configuration = weasyprint.text.fonts.FontConfiguration

    class CountingConfiguration(real_configuration):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            configurations.append(1)
            super().__init__()

    monkeypatch.setattr(weasyprint.text.fonts, "FontConfiguration", CountingConfiguration)
    monkeypatch.setattr(trust_pdf._local, "font_config", None, raising=False)

    first = None
    for _ in range(3):
        signed = signing.pdf_sign(document_pdf_unsigned(invoice), reason="test")
        first = first or signing.pades_material().certificate.serial_number
        assert signed.startswith(b"%PDF")
    assert configurations == [1]
    assert credentials == [1]

    signing.key_store().renew()  # a new document-signing certificate
    signing.pdf_sign(document_pdf_unsigned(invoice), reason="test")
    assert credentials == [1, 1]
    assert signing.pades_material().certificate.serial_number != first
