"""Tasks that exist only for the tests."""

from django_tasks import task


@task()
def noop() -> None:
    """Does nothing: a queued task for the readiness tests."""
