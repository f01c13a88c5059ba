"""Screenshots for the README: each page at phone (390×844) and desktop (1280×800) size.

    .venv/bin/python scripts/screenshots.py [--base-url URL] [--out DIR] PAGE...

A PAGE is a path ("/ar/"), or "user:path" to log in first as that demo account
("newcomer:/ar/applications/new/"; password from KHUTWA_DEMO_PASSWORD, default khutwa-demo).
It runs against a server with the demo data (`make run`) and writes
<out>/<name>-phone.png and <name>-desktop.png, the name made from the path ("ar-home",
"ar-applications-new"). A page that does not answer 200 — a 404, an error, a redirect to the
log-in page — is reported and the script exits 1: nothing is skipped silently.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, sync_playwright

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
# The README's: home, the application form (the demo's newcomer, who has nothing applied for yet:
# the demo applicant's open application would show instead of the form) and the statistics.
DEFAULT_PAGES = [
    f"{who}/{lang}/{path}"
    for lang in ("ar", "en")
    for who, path in (("", ""), ("newcomer:", "applications/new/"), ("", "statistics/"))
]


def name_of(path: str) -> str:
    parts = [p for p in re.split(r"[/?=&]+", path) if p]
    if len(parts) <= 1:
        parts.append("home")
    return "-".join(re.sub(r"[^a-z0-9_-]", "", p.lower()) for p in parts)


def log_in(context: BrowserContext, base_url: str, username: str, password: str) -> None:
    page = context.new_page()
    page.goto(f"{base_url}/en/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    if "/login/" in page.url:
        raise SystemExit(f"could not log in as {username!r} (is the demo data loaded?)")
    page.close()


def shoot(browser: Browser, base_url: str, spec: str, out: Path, password: str) -> list[str]:
    user, _, path = ("", "", spec) if spec.startswith("/") else spec.partition(":")
    problems: list[str] = []
    for size_name, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        if user:
            log_in(context, base_url, user, password)
        page = context.new_page()
        response = page.goto(f"{base_url}{path}")
        page.wait_for_load_state("networkidle")
        status = response.status if response else 0
        if status != 200 or ("/login/" in page.url and "/login/" not in path):
            problems.append(f"{spec} ({size_name}): answered {status} at {page.url}")
        else:
            target = out / f"{name_of(path)}-{size_name}.png"
            page.screenshot(path=str(target))
            print(f"wrote {target}")
        context.close()
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pages", nargs="*", default=DEFAULT_PAGES, help="paths, or user:path")
    parser.add_argument("--base-url", default=os.environ.get("KHUTWA_SITE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    args = parser.parse_args(argv)
    password = os.environ.get("KHUTWA_DEMO_PASSWORD", "khutwa-demo")
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed: run `make bootstrap-test` (as root)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        for spec in args.pages:
            problems += shoot(browser, args.base_url.rstrip("/"), spec, args.out, password)
        browser.close()
    for problem in problems:
        print(f"not taken: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
