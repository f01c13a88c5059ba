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
