"""`render_pdfa3_parts`: a long document laid out part by part, written as one PDF/A-3b file."""

from __future__ import annotations

import gc
import re
import subprocess
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import fontpkg_amiri
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from khutwa.trust.pdf import Attachment, pdf_attachment, render_pdfa3_parts

FONT_DIR = Path(fontpkg_amiri.__file__).parent / "files"
STYLE = f"""<style>
@font-face {{ font-family: Amiri; src: url("{(FONT_DIR / "Amiri-Regular.ttf").as_uri()}"); }}
@page {{ size: A4; margin: 15mm; }}
body {{ font-family: Amiri; font-size: 12pt; }}
div + div {{ break-before: page; }}
</style>"""
ATTACHMENTS = [Attachment(name="data.json", data=b'{"n": 3}', mime="application/json", relationship="Data")]


def part(n: int) -> str:
    """Two pages: an Arabic line and an English one."""
    body = f"<div>الجزء {n} كشف</div><div>Part {n} page two</div>"
    return f'<html lang="ar" dir="rtl"><head>{STYLE}</head><body>{body}</body></html>'


def footer(pages: int) -> str:
    pages_html = "".join("<div></div>" for _ in range(pages))
    return (
        f"<html><head>{STYLE}<style>@page {{ @bottom-center {{ "
        f'content: "Page " counter(page) " of " counter(pages); font-family: Amiri; }} }}</style>'
        f"</head><body>{pages_html}</body></html>"
    )


def _text(pdf: bytes, tmp_path: Path, page: int) -> str:
    path = tmp_path / "parts.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", "-f", str(page), "-l", str(page), "-enc", "UTF-8", str(path), "-"]
    text = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout  # noqa: S603
    return re.sub("[\u202a-\u202e]", "", text)  # pdftotext's direction marks


def test_parts_make_one_pdfa3_file_with_the_overlay_on_every_page(tmp_path: Path) -> None:
    pdf = render_pdfa3_parts(
        (part(n) for n in (1, 2, 3)), overlay=footer, attachments=ATTACHMENTS, title="Parts", lang="ar"
    )
    root = PdfFileReader(BytesIO(pdf)).root
    assert root["/Pages"]["/Count"] == 6
    assert len(root["/OutputIntents"]) == 1 and len(root["/AF"]) == 1
    assert str(root["/Lang"]) == "ar"
    assert re.search(rb'pdfaid:part(>|=")3', root["/Metadata"].get_object().data)
    assert pdf_attachment(pdf, "data.json") == b'{"n": 3}'
    for n in (1, 2, 3):
        first, second = _text(pdf, tmp_path, 2 * n - 1), _text(pdf, tmp_path, 2 * n)
        assert "الجزء" in first and "كشف" in first and f"Part {n}" not in first, first  # Arabic extracted
        assert f"Page {2 * n - 1} of 6" in first, first
        assert f"Part {n} page two" in second and f"Page {2 * n} of 6" in second, second
    # One subset of Amiri for the file, with the glyphs of every part.
    fonts = [
        font.get_object()
        for page in range(6)
        for font in PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Kids"][page]["/Resources"]["/Font"].values()
    ]
    assert len({str(f["/BaseFont"]) for f in fonts}) == 1


def _pages_alive() -> int:
    from weasyprint.document import Page

    gc.collect()
    return sum(isinstance(o, Page) for o in gc.get_objects())


def test_each_part_is_dropped_before_the_next_is_laid_out() -> None:
    alive = []

    def parts() -> Iterator[str]:
        for n in (1, 2, 3):
            alive.append(_pages_alive())
            yield part(n)

    render_pdfa3_parts(parts(), overlay=footer, attachments=[], title="Parts")
    assert alive == [0, 0, 0]


def test_the_overlay_must_have_the_documents_page_count() -> None:
    with pytest.raises(ValueError, match="overlay has 5 pages, the document 6"):
        render_pdfa3_parts(
            (part(n) for n in (1, 2, 3)), overlay=lambda pages: footer(pages - 1), attachments=[], title="x"
        )


def test_links_are_refused_in_parts() -> None:
    linked = part(1).replace("Part 1", '<a href="https://example.org">Part 1</a>')
    with pytest.raises(ValueError, match="links or forms"):
        render_pdfa3_parts([linked], overlay=footer, attachments=[], title="x")
