"""Background work of Tamkeen support."""

from __future__ import annotations

from django_tasks import task

from khutwa.jobs.retry import retrying


@task()
@retrying()
def support_expire_daily() -> int:
    """The daily expiry of unclaimed approvals (as `khutwa expire-support`); idempotent."""
    from khutwa.support.services import applications_expire

    return applications_expire()
