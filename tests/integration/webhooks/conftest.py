"""Fixtures of the webhook tests: a real receiver on 127.0.0.1 and webhook settings for tests."""
from __future__ import annotations

import pytest

from app.queue import huey
from tests.integration.webhooks.support import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def webhook_settings(app, monkeypatch):
    """Deliveries to 127.0.0.1 allowed; a fast schedule (5 attempts) and a short timeout."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_SCHEDULE", "0.3,0.3,0.3,0.3")
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 2.0)
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_OVERLAP_HOURS", 24.0)
    monkeypatch.setitem(app.config, "WEBHOOK_DISABLE_AFTER_DAYS", 5.0)
    huey.flush()  # nothing scheduled by another test runs in this one
    yield
    huey.flush()
