"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server."""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture(scope="session")
def live_server(live_server):  # type: ignore[no-untyped-def]
    """The suite's live server (tests/conftest.py: stopped after its request threads ended).
    pyHanko is imported here, as config/wsgi.py does for the web server: the first document
    signed in a test would otherwise pay for that import within the browser's wait. Playwright,
    and so every browser, is set up after this fixture and torn down before it (`playwright`
    asks for it): when the server's teardown waits for its threads, the sockets are closed."""
    import khutwa.trust.pades  # noqa: F401

    return live_server


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
