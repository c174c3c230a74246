"""Fixtures of the notification tests: a real SMTP server, and the app pointed at it."""
from __future__ import annotations

import pytest

from app.extensions import mail
from app.queue import huey
from tests.integration.notifications.support import SilentServer, SmtpServer


def point_mail_at(app, monkeypatch, port: int, **settings) -> None:
    """Flask-Mail's own settings, as the environment would give them, then Flask-Mail re-reads them."""
    values = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False, "MAIL_USE_SSL": False,
              "MAIL_SUPPRESS_SEND": False, "MAIL_TIMEOUT": 2.0, **settings}
    for name, value in values.items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.extensions, "mail", mail.init_mail(app.config))


@pytest.fixture(autouse=True)
def mail_settings(app, monkeypatch):
    """A fast retry schedule (4 attempts) and an empty scheduler, whatever ran before."""
    monkeypatch.setitem(app.config, "MAIL_RETRY_SCHEDULE", "0.2,0.2,0.2")
    monkeypatch.setitem(app.config, "BASE_URL", "https://help.example.com")
    huey.flush()
    yield
    huey.flush()


@pytest.fixture
def smtp(app, monkeypatch):
    server = SmtpServer()
    point_mail_at(app, monkeypatch, server.port)
    yield server
    server.stop()


@pytest.fixture
def silent(app, monkeypatch):
    server = SilentServer()
    point_mail_at(app, monkeypatch, server.port, MAIL_TIMEOUT=0.5)
    yield server
    server.close()
