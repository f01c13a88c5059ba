"""Crafted PDFs on the public check (/verify/ upload) and `khutwa verify FILE`: parsed in a
child process with limits on time, memory and unpacked size; any failure is "cannot be
checked" with a reason in the page's language (the command: exit 2, one clear line, no
traceback), never a 500 or a crash."""

from __future__ import annotations

import json
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from khutwa.documents.pdf import document_pdf
from khutwa.documents.signing import jwks
from khutwa.trust import sandbox

pytestmark = pytest.mark.django_db


def _pdf(*objects: bytes, xref: bytes | None = None) -> bytes:
    """A PDF of the given objects (1 0 obj is the catalogue) with a correct xref unless given."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    if xref is None:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    else:
        out += xref
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, start)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    head = b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(packed), extra)
    return head + packed + b"\nendstream"


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """About 100 KB that unpacks to 100 MB, as the Khutwa payload a verifier reads."""
    return _pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
        _stream(b"\0" * (100 * 1024 * 1024)),
        b"<< /Names [(khutwa-document.json) << /Type /Filespec /EF << /F 3 0 R >> >>] >>",
    )


def _valid_catalogue() -> list[bytes]:
    return [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]


CRAFTED = {
    "garbage xref": _pdf(*_valid_catalogue(), xref=b"xref\n0 zz\n\x00\xff garbage \xfe\n"),
    "no xref at all": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\nstartxref\n999999999\n%%EOF\n",
    "deep nesting": _pdf(b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 200_000 + b"]" * 200_000 + b" >>"),
    "deep dictionaries": _pdf(b"<< /Type /Catalog /A " + b"<< /A " * 50_000 + b">> " * 50_000 + b">>"),
    "page tree that contains itself": _pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>",
        b"<< /Type /Pages /Kids [2 0 R 2 0 R] /Count 2 >>",
        b"<< /Kids [3 0 R 3 0 R] /Limits [(a) (z)] >>",
    ),
    "stream length that refers to itself": _pdf(
        b"<< /Type /Catalog /Pages 2 0 R /AF [3 0 R] >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
        b"<< /Type /Filespec /F (khutwa-document.json) /EF << /F 4 0 R >> >>",
        b"<< /Length 4 0 R /Filter /FlateDecode >>\nstream\nxx\nendstream",
    ),
    "header only": b"%PDF-1.7\n",
    "random bytes after the header": b"%PDF-1.4\n" + bytes(range(256)) * 64,
}


def _upload(client, data: bytes, language: str = "en"):
    return client.post(
        f"/{language}/verify/", {"file": SimpleUploadedFile("x.pdf", data, content_type="application/pdf")}
    )


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_pdf_cannot_be_checked_and_the_page_says_why(client, name):
    response = _upload(client, CRAFTED[name])
    assert response.status_code == 400, name
    assert "This PDF cannot be checked:" in response.content.decode(), name


def test_a_truncated_signed_pdf_is_not_valid_or_cannot_be_checked(client, issue):
    pdf = document_pdf(issue("invoice"))
    for cut in (len(pdf) // 3, len(pdf) // 2, len(pdf) - 40):
        response = _upload(client, pdf[:cut])
        assert response.status_code in (200, 400), cut
        text = response.content.decode()
        assert "This PDF cannot be checked:" in text or 'data-valid="false"' in text, cut


def test_a_decompression_bomb_is_refused_before_it_is_unpacked(client, bomb):
    response = _upload(client, bomb)
    assert response.status_code == 400
    assert "its compressed content unpacks to more than 64 MB" in response.content.decode()
    with pytest.raises(sandbox.Uncheckable) as raised:
        sandbox.read_pdf(bomb, trust_roots=[])
    assert raised.value.kind == sandbox.INFLATED


def test_memory_is_bounded_in_the_child_when_the_unpacked_size_is_allowed(bomb):
    with pytest.raises(sandbox.Uncheckable) as raised:
        sandbox.read_pdf(bomb, trust_roots=[], inflated_limit=2**40, memory_limit=150 * 1024 * 1024)
    assert raised.value.kind in (sandbox.MEMORY, sandbox.CRASHED)


def test_time_is_bounded_in_the_child(bomb):
    # A file the child needs far longer than the limit to read: unpacking 100 MB with the
    # unpacked-size check lifted. (A file the child refuses at once, such as deep nesting, could
    # be answered before the parent starts waiting, now that the fork server has pyHanko loaded.)
    with pytest.raises(sandbox.Uncheckable) as raised:
        sandbox.read_pdf(bomb, trust_roots=[], inflated_limit=2**40, time_limit=0.02)
    assert raised.value.kind == sandbox.TIMEOUT


def test_the_reason_is_in_the_pages_language(client):
    english = _upload(client, CRAFTED["garbage xref"], "en").content.decode()
    arabic = _upload(client, CRAFTED["garbage xref"], "ar").content.decode()
    assert "This PDF cannot be checked: it is not a readable PDF file." in english
    assert 'lang="ar"' in arabic and 'dir="rtl"' in arabic


@pytest.mark.parametrize(("data", "status"), [(b"", 400), (b"GIF89a not a pdf", 400)])
def test_an_empty_file_or_another_format_is_not_a_pdf(client, data, status):
    response = _upload(client, data)
    assert response.status_code == status
    assert "This is not a PDF file." in response.content.decode()


def test_a_valid_pdf_still_checks_through_the_child(client, issue):
    response = _upload(client, document_pdf(issue("invoice")))
    assert response.status_code == 200
    assert 'data-valid="true"' in response.content.decode()


@pytest.mark.parametrize("name", [*sorted(CRAFTED), "bomb", "empty", "not a pdf"])
def test_the_command_exits_2_with_one_clear_line_and_no_traceback(tmp_path, capsys, bomb, name):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(jwks()))
    path = tmp_path / "crafted.pdf"
    path.write_bytes({"bomb": bomb, "empty": b"", "not a pdf": b"hello"}.get(name) or CRAFTED.get(name, b""))
    with pytest.raises(SystemExit) as exit_:
        call_command("verify", str(path), "--keys", str(keys))
    assert exit_.value.code == 2, name
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "cannot be checked" in err or "is not a PDF" in err, err
