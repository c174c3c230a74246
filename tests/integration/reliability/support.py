"""Shared pieces of the reliability tests: an app of a test's own, its data, timed requests."""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from app.extensions import db

FAST = 3.0  # seconds: "fails fast" during an outage


@contextmanager
def own_queue_settings():
    """create_app() points the process-wide Huey instance at its app's broker: put it back afterwards."""
    from app.queue import huey

    saved = (huey.storage_class, huey.storage_kwargs, huey._immediate, huey.storage)
    try:
        yield
    finally:
        huey.storage_class, huey.storage_kwargs, huey._immediate, huey.storage = saved


def make_app(url: str, tmp_path: Path, **overrides):
    from app import create_app

    config = {"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "SQLALCHEMY_DATABASE_URI": url,
              "WTF_CSRF_ENABLED": False, "HUEY_IMMEDIATE": True, "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
              "REDIS_URL": "", "OUTBOX_GRACE_SECONDS": 0}
    config.update(overrides)
    return create_app(config)


def seed(app):
    """Migrations, a workspace and an API token of its agent: the plain token."""
    from flask_migrate import upgrade

    from app.services import people
    from tests.conftest import make_workspace

    with app.app_context():
        upgrade(revision="heads")
        ws = make_workspace("acme", "Acme")
        with ws.uow(ws.admin) as uow:
            _, secret = people.create_token(uow, ws.agent.id, "faults")
            uow.commit()
        db.session.remove()
    return {"Authorization": f"Bearer {secret}"}


def new_ticket(client, headers, subject: str):
    started = time.monotonic()
    response = client.post("/api/v1/tickets", headers=headers, json={
        "subject": subject, "description": "Filed during a fault test.",
        "requester": {"name": "Pat Customer", "email": "pat@example.com"}})
    return response.status_code, time.monotonic() - started


def timed_get(client, path: str):
    started = time.monotonic()
    response = client.get(path)
    return response.status_code, time.monotonic() - started
