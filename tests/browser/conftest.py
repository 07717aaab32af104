"""Browser tests: a live desk (a werkzeug server in a thread, on a SQLite file with the demo
data) and Debian's Chromium driven by Playwright. Without /usr/bin/chromium or Playwright the
tests skip and say why (``scripts/install-test-packages.sh`` installs Chromium).

Screenshots of every step go to ``artifacts/screenshots/`` (kept by CI as test artefacts).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.support.databases import base_config

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "demo-browser-pass-1"
# Flags that work as root on these machines, without any connection to the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the skip says so
    sync_playwright = None


@pytest.fixture
def live_desk_config():
    """More settings of the live desk (a test module overrides this, e.g. with an SMTP sink)."""
    return {}


@pytest.fixture
def live_desk(db_url, tmp_path, live_desk_config):
    """The demo desk served on a free port: ``{"url": …, "password": …}``."""
    from app import create_app
    from app.demo.seed import seed_demo
    from app.extensions import db

    config = base_config(db_url, tmp_path)
    config.update(WTF_CSRF_ENABLED=True, TESTING=False)
    config.update(live_desk_config)
    app = create_app(config)
    with app.app_context():
        seed_demo(cases=40, password=PASSWORD)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "password": PASSWORD, "app": app}
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def browser_page():
    """A Chromium page of 1366×768 (the laptop agents work on)."""
    if sync_playwright is None:
        pytest.skip("Playwright is not installed (pip install -r requirements-dev.txt)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (scripts/install-test-packages.sh installs chromium)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "response",
            lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.errors = errors
        try:
            yield page
        finally:
            context.close()
            browser.close()


def shoot(page, name: str, *, full_page: bool = False) -> Path:
    """Keep a screenshot of the page as a test artefact."""
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
