"""Background work of official documents."""

from __future__ import annotations

from django_tasks import task

from khutwa.jobs.retry import retrying


@task()
@retrying()
def document_pdf_render(public_id: str) -> bool:
    """Render and sign the document's PDF once, right after it is issued, so that downloads only
    read it. Idempotent: a PDF already stored (by a download or an earlier run) is kept.
    Returns whether this run rendered it."""
    from khutwa.documents.models import Document, RenderedFile
    from khutwa.documents.pdf import document_pdf

    document = Document.objects.get(public_id=public_id)
    if RenderedFile.objects.filter(document=document).exists():
        return False
    document_pdf(document)
    return True
