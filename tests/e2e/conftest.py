"""A real server in a background thread, and headless Chromium driving it."""
from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests.conftest import _reset_schema

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _playwright_browser_installed() -> bool:
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        return False
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or os.path.expanduser("~/.cache/ms-playwright")
    return os.path.isdir(root) and any(name.startswith("chromium") for name in os.listdir(root))


def chromium_launch_options() -> dict:
    """Debian's Chromium when present, else Playwright's own; skip (with the reason) when neither is there."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed")
    base = {"headless": True, "args": CHROMIUM_ARGS}
    if os.access(CHROMIUM, os.X_OK) or shutil.which("chromium"):
        return {**base, "executable_path": CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")}
    if _playwright_browser_installed():
        return base
    pytest.skip(f"no browser: {CHROMIUM} is missing and Playwright's Chromium is not installed")


@pytest.fixture
def browser_launch() -> dict:
    """Launch options for headless Chromium, checked before any server is started."""
    return chromium_launch_options()


@dataclass
class LiveServer:
    app: object
    url: str


@pytest.fixture
def live_app(request, tmp_path):
    """The app the live server runs, with CSRF protection ON.

    SQLite: its own app on its own database file, built with the migrations.
    PostgreSQL (TEST_DATABASE_URL): the session ``app`` and its database, CSRF switched on
    for this test only; conftest's autouse fixture empties the tables afterwards.
    """
    if os.environ.get("TEST_DATABASE_URL"):
        app = request.getfixturevalue("app")
        previous = app.config["WTF_CSRF_ENABLED"]
        app.config["WTF_CSRF_ENABLED"] = True
        try:
            yield app
        finally:
            app.config["WTF_CSRF_ENABLED"] = previous
        return
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'e2e.db'}",
        # Jobs run inline, as in the rest of the suite (the queue is process-wide).
        "HUEY_IMMEDIATE": True,
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
        "REDIS_URL": "",
        "WTF_CSRF_ENABLED": True,
        "SERVER_NAME": None,
    })
    _reset_schema(app)  # the suite's own schema build: the real migrations
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="e2e-server",
                              daemon=True)
    thread.start()
    try:
        yield LiveServer(app=live_app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        assert not thread.is_alive(), "the live server thread did not stop"
