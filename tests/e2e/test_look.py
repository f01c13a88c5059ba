"""The look in a real browser: the skip link, focus after htmx swaps, the focus ring, the font."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.django_db(transaction=True)]


def until(page, expression: str, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Waits for a JavaScript expression to be true (page.evaluate is not subject to the
    Content-Security-Policy; wait_for_function evaluates strings in the page and is)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(50)


def test_the_first_tab_reaches_the_skip_link_which_moves_to_the_main_content(page, live_server):
    page.goto(f"{live_server.url}/en/activities/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    ring = skip.evaluate("e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth")
    assert ring == "solid 3px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside the main content, not the header
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_a_swap_that_replaces_the_page_moves_the_focus_to_its_heading(page, live_server):
    page.goto(f"{live_server.url}/en/activities/")
    until(page, "window.htmx !== undefined")
    page.evaluate("htmx.ajax('GET', '/en/how-to-apply/', {target: '#main', select: '#main > *'})")
    until(page, "document.activeElement && document.activeElement.tagName === 'H1'")
    assert page.evaluate("document.activeElement.textContent") == "How to apply, step by step"


def test_a_small_swap_leaves_the_focus_where_the_user_is(page, live_server):
    page.goto(f"{live_server.url}/en/track/")
    until(page, "window.htmx !== undefined")
    field = page.locator("main input[type=text], main input:not([type])").first
    field.focus()
    page.evaluate(
        "htmx.ajax('GET', '/en/how-to-apply/', {target: 'footer', select: '#main ol', swap: 'beforeend'})"
    )
    until(page, "document.querySelector('footer ol') !== null")
    assert page.evaluate("document.activeElement.tagName") == "INPUT"


def test_arabic_pages_use_the_interface_font_and_it_loads(page, live_server):
    page.goto(f"{live_server.url}/ar/")
    until(page, "document.fonts.status === 'loaded'")
    family = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.startswith('"IBM Plex Sans Arabic"')
    assert page.evaluate("document.fonts.check('16px \"IBM Plex Sans Arabic\"', 'خطوة')")
    loaded = page.evaluate(
        "[...document.fonts].filter(f => f.family.includes('IBM Plex') && f.status === 'loaded').length"
    )
    assert loaded >= 1
