from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from django.test import Client
from hypothesis import settings as hypothesis_settings

from khutwa.accounts.models import User
from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.catalogue.models import ApprovingBody

PASSWORD = "correct-horse-battery"

# Property tests assert properties, not speed: on a loaded 2-core machine one example of a
# database-backed property can take longer than hypothesis' default 200 ms deadline (speed is
# measured under bench/, as ratios).
hypothesis_settings.register_profile("khutwa", deadline=None)
hypothesis_settings.load_profile("khutwa")

#: Fixtures through which a test reaches the database.
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


#: Test files that run the platform in separate processes (or a browser over every page) and take
#: one to several minutes each: they go first, so that pytest-xdist starts them while the short
#: tests fill the other workers, rather than one of them ending the run alone on one core.
SLOW_FIRST = (
    "tests/ops/test_backup.py",
    "tests/ops/test_shared_cache.py",
    "tests/support/test_budget_race.py",
    "tests/accounts/test_lockout.py",
    "tests/config/test_file_modes.py",
    "tests/documents/test_concurrency.py",
    "tests/tlog/test_concurrency.py",
    "tests/jobs/test_processes.py",
    "tests/webhooks/test_concurrent_delivery.py",
    "tests/e2e/test_accessibility.py",
    "tests/e2e/test_support_journey.py",
)


@pytest.hookimpl(tryfirst=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_slow_first(items):  # type: ignore[no-untyped-def]
    """A stable reordering (files keep their own order inside), the same in every xdist worker.
    It runs before pytest-django's own (stable) sort, which must have the last word: tests in a
    transaction first, then transactional ones (whose flush empties the seeded catalogue), so the
    slow files lead within each of pytest-django's groups."""
    rank = {name: n for n, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """`KHUTWA_TESTS_DATABASE_ONLY=1` (make test's second run, on PostgreSQL) keeps the tests that
    reach the database; those that cannot (pytest-django refuses them any query: canonical JSON,
    seals, settings started in child processes...) ran on SQLite just before and would repeat
    the same work. They are reported as deselected, not skipped."""
    _deselect_row_lock_tests_off_postgresql(config, items)
    if os.environ.get("KHUTWA_TESTS_DATABASE_ONLY") != "1":
        return
    keep, drop = [], []
    for item in items:
        uses_database = bool(DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))
        on_database = item.get_closest_marker("django_db") or item.get_closest_marker("database_engine")
        (keep if uses_database or on_database else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


def _deselect_row_lock_tests_off_postgresql(config, items):  # type: ignore[no-untyped-def]
    """Tests marked `postgresql` show who waits on which row lock; SQLite has no row locks (it
    serialises every writer), so they run in the PostgreSQL suite and are deselected, not
    skipped, in the SQLite one."""
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    drop = [item for item in items if item.get_closest_marker("postgresql")]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item not in drop]


#: How long the live server waits, when the session ends, for requests still being served.
REQUEST_THREADS_TIMEOUT = 30.0


@pytest.fixture(scope="session")
def live_server(live_server):  # type: ignore[no-untyped-def]
    """pytest-django's live server, stopped only after the threads serving its requests ended.

    Each connection (a browser's kept alive between requests, a command's in a child process)
    is served by a thread of its own, which closes its database connections when the client
    closes the socket. On SQLite that is the test's own in-memory connection, shared with the
    server until it stops: a thread that closed it after the stop raised "DatabaseWrapper
    objects created in a thread can only be used in that same thread" (a
    PytestUnhandledThreadExceptionWarning after the last test of a worker). So every test that
    asks for a live server gets one whose teardown waits for those threads first — its own
    only: other test servers' request threads (an SMS gateway's, a webhook receiver's) are
    theirs to end, and waiting for one that a client left open cost a worker 30 s."""
    serving: set[threading.Thread] = set()
    server = live_server.thread.httpd
    handle = server.process_request_thread  # ThreadingMixIn starts each request's thread on it

    def tracked(request, client_address):  # type: ignore[no-untyped-def]
        serving.add(threading.current_thread())
        try:
            handle(request, client_address)
        finally:
            serving.discard(threading.current_thread())

    server.process_request_thread = tracked
    yield live_server
    deadline = time.monotonic() + REQUEST_THREADS_TIMEOUT
    for thread in list(serving):
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


@pytest.fixture(autouse=True)
def _english_outside_requests():  # type: ignore[no-untyped-def]
    """Service-level tests read messages in English; requests pick their own language."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _test_settings(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests serve static files from the finders; no collectstatic manifest needed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # The database cache (rate limits) as configured, with keys of this test's own: a
    # transactional test's flush leaves the cache table alone.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": uuid.uuid4().hex}}
    # Text messages land in khutwa.sms.outbox, emptied for each test (as mail.outbox is).
    from khutwa import sms

    settings.KHUTWA_SMS_BACKEND = "locmem"
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _keys(tmp_path_factory, settings, monkeypatch):  # type: ignore[no-untyped-def]
    """Anything signed in a test (documents, licence certificates) is signed with a key store
    of the session's own, never with the developer's var/keys."""
    from khutwa.documents.signing import cache_clear

    settings.KHUTWA_KEY_DIR = tmp_path_factory.getbasetemp() / "khutwa-test-keys"
    monkeypatch.setenv("KHUTWA_KEY_PASSPHRASE", "test-passphrase")
    cache_clear()
    yield
    cache_clear()


@pytest.fixture(autouse=True)
def _flushable_audit(request):  # type: ignore[no-untyped-def]
    """Transactional tests end with a flush, which the audit, documents and log triggers would
    refuse: switch them off just for that flush (set up after transactional_db, so torn down
    before it), and re-seed the catalogue that an earlier flush removed."""
    transactional = {"transactional_db", "live_server"} & set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    if not transactional and not (marker and marker.kwargs.get("transaction")):
        yield
        return
    from django.db import connection

    from khutwa.audit import triggers as audit_triggers
    from khutwa.documents import triggers as documents_triggers
    from khutwa.tlog import triggers as tlog_triggers

    request.getfixturevalue("transactional_db")
    for triggers in (audit_triggers, documents_triggers, tlog_triggers):
        triggers.triggers_resume(connection)
    # A previous transactional test's flush removed what the data migrations seeded.
    from django.apps import apps

    from khutwa.catalogue.loading import load_seed

    load_seed(apps)
    yield
    for triggers in (audit_triggers, documents_triggers, tlog_triggers):
        triggers.triggers_suspend(connection)


def staff_second_factor(user: User, *, otp: bool) -> None:
    """Test staff: the demo's way (second factor waived) by default, or a confirmed TOTP device."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from khutwa.accounts.security import is_official

    if otp:
        TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    elif is_official(user):
        user.otp_exempt = True
        user.save(update_fields=["otp_exempt"])


def totp_code(user: User, *, offset: int = 0) -> str:
    """The code the user's confirmed TOTP device shows now (offset in time steps)."""
    import time

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def make_user(db) -> Callable[..., User]:  # type: ignore[no-untyped-def]
    counter = {"n": 0}

    def _make(
        *roles: str, body: str | None = None, cpr: str | None = None, otp: bool = False, **extra
    ) -> User:  # type: ignore[no-untyped-def]
        """A user with these roles. Staff are like the demo's (second factor waived, as
        development allows) unless `otp=True`: then they must prove it, with a confirmed TOTP
        device (`totp_device(user)` reads it)."""
        counter["n"] += 1
        n = counter["n"]
        # Confirmed e-mail, as the demo's accounts: applying needs it (accounts.selectors).
        extra.setdefault("email_confirmed_at", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        user = User.objects.create_user(
            username=extra.pop("username", f"user{n}"),
            password=PASSWORD,
            cpr=cpr,
            body=ApprovingBody.objects.get(code=body) if body else None,
            **extra,
        )
        if roles:
            user_set_roles(user=user, roles=roles, actor=None)
        staff_second_factor(user, otp=otp)
        return user

    return _make


@pytest.fixture
def registrar(make_user) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.REGISTRAR, username="reg")


@pytest.fixture
def logged_in(client: Client) -> Callable[[User], Client]:
    def _login(user: User) -> Client:
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def run_tasks(db) -> Callable[[], int]:  # type: ignore[no-untyped-def]
    """Run the tasks waiting in the queue (READY, due) in this process, as `khutwa worker --batch`
    does; returns how many ran."""
    from unittest import mock

    from khutwa.jobs.management.commands.worker import GracefulWorker

    def _run() -> int:
        worker = GracefulWorker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        )
        # Not the worker's reconnection between tasks: it would close the test's transaction.
        with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
            worker.run()
        return worker._run_tasks

    return _run
