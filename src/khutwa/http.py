"""Small HTTP helpers shared by the pages and the API."""

from __future__ import annotations

from django.http import HttpResponse


def download(content: bytes | str, *, content_type: str, filename: str) -> HttpResponse:
    """A file the browser saves under `filename` (PDFs, UBL XML, bank files)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
