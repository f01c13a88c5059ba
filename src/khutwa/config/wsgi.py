import os

from django.core.wsgi import get_wsgi_application

from khutwa.config.files import restrict_umask

restrict_umask()  # before anything writes a file (config/files.py)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "khutwa.config.settings")
application = get_wsgi_application()


def _warm() -> None:
    """Import the URLconf (the whole API: every ninja schema) now, not on the first request.

    Django imports it lazily, so a worker's first request paid several seconds of CPU, and on a
    busy machine more than gunicorn's worker timeout: the worker was killed mid-import and its
    successor started over (the bench's PostgreSQL run at 100,000 never got past /healthz).
    Loaded here, it is loaded with the application (in the master under ``--preload``)."""
    from django.db import connections
    from django.urls import get_resolver

    import khutwa.trust.pades  # noqa: F401 (pyHanko: the web server signs; commands load it on first use)

    get_resolver().url_patterns  # noqa: B018 (the import is the point)
    connections.close_all()  # nothing opened here may be shared by forked workers


_warm()
