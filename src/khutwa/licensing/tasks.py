"""Background work of licensing."""

from __future__ import annotations

from django_tasks import task

from khutwa.jobs.retry import retrying


@task()
@retrying()
def licences_expire_daily() -> int:
    """The daily expiry (as `khutwa expire-licences`); idempotent."""
    from khutwa.licensing.services import licences_expire

    return licences_expire()


@task()
@retrying()
def certificate_pdf_render(licence_id: int) -> bool:
    """Render and keep the certificate of the licence's current state (after each change), so that
    downloads only read it. Idempotent: a state already rendered is not rendered again."""
    from khutwa.licensing.certificate import certificate_file
    from khutwa.licensing.models import Licence

    return certificate_file(Licence.objects.get(pk=licence_id))[1]
