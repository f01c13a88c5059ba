"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def chromium_path() -> str:
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("chromium is not installed: run `make bootstrap-test` (as root)")
    return executable


#: How long the live server waits, when the session ends, for requests still being served.
REQUEST_THREADS_TIMEOUT = 30.0


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):  # type: ignore[no-untyped-def]
    """pytest-django's live server, stopped only after the threads serving its requests ended.

    Each connection from chromium (kept alive between requests) is served by a thread of its
    own, which closes its database connections when the browser closes the socket. On SQLite
    that is the test's own in-memory connection, shared with the server until it stops: a
    thread that closed it after the stop raised "DatabaseWrapper objects created in a thread
    can only be used in that same thread" (a PytestUnhandledThreadExceptionWarning, ten of them
    after the last test of a worker). Playwright, and so every browser, is set up after this
    fixture and torn down before it (`playwright` asks for it): when this teardown runs the
    sockets are closed, and the threads are waited for before pytest-django stops the server.
    pyHanko is imported here, as config/wsgi.py does for the web server: the first document
    signed in a test would otherwise pay for that import within the browser's wait.
    """
    import khutwa.trust.pades  # noqa: F401

    yield live_server
    deadline = time.monotonic() + REQUEST_THREADS_TIMEOUT
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


@pytest.fixture(scope="session")
def playwright(live_server) -> Iterator[Playwright]:  # type: ignore[no-untyped-def]
    """One Playwright per session: a second sync_playwright() in the same thread is refused.
    Set up after the live server and torn down before it (see `live_server`)."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ar-BH", viewport={"width": 390, "height": 844})
    page = context.new_page()
    yield page
    context.close()


def follow(page: Page, selector: str) -> None:
    """Click what navigates (a link, a form's button) and return once the next page has loaded.

    A click alone returns before the navigation starts, and `wait_for_load_state()` right after it
    answers for the page being left: a read that does not wait (`count()`, `url`) then sees the old
    page. Waiting for the navigation itself is the only race-free order.
    """
    with page.expect_navigation():
        page.locator(selector).first.click()
