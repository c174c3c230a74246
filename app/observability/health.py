"""GET /health (readiness, per component) and GET /health/live (liveness)."""
from __future__ import annotations

import socket
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("health", __name__)

UP, DOWN, NOT_CONFIGURED = "up", "down", "not configured"


def app_version() -> str:
    try:
        return version("ticketry")
    except PackageNotFoundError:
        return "0+unknown"


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return UP
    except Exception:
        db.session.rollback()
        return DOWN


def _redis(url: str) -> str:
    if not url:
        return NOT_CONFIGURED
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return UP
    except Exception:
        return DOWN


def _queue() -> str:
    from app.queue import huey

    try:
        huey.pending_count()
        return UP
    except Exception:
        return DOWN


def _search(url: str) -> str:
    if not url:
        return "sql"  # the embedded SQL full-text backend, always there with the database
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=1) as response:  # noqa: S310 (configured URL)
            return UP if response.status == 200 else DOWN
    except Exception:
        return DOWN


def _mail(server: str, port: int) -> str:
    if not server:
        return "stored"  # no MAIL_SERVER: emails are stored and logged, not sent
    try:
        with socket.create_connection((server, port), timeout=1):
            return UP
    except OSError:
        return DOWN


@bp.get("/health")
def health():
    config = current_app.config
    components = {
        "database": _database(),
        "redis": _redis(config.get("REDIS_URL", "")),
        "queue": _queue(),
        "search": _search(config.get("MEILISEARCH_URL", "")),
        "mail": _mail(config.get("MAIL_SERVER", ""), config.get("MAIL_PORT", 25)),
    }
    # Required: the database and the queue (Redis when configured). Search falls back to SQL
    # and mail is retried, so they degrade the service without making it unready.
    required = ("database", "queue", "redis")
    ready = all(components[name] in (UP, NOT_CONFIGURED) for name in required)
    body = {"status": "ok" if ready else "unavailable", "timestamp": datetime.now(timezone.utc).isoformat(),
            "version": app_version(), **components}
    return jsonify(body), 200 if ready else 503


@bp.get("/health/live")
def live():
    return jsonify({"status": "ok"}), 200
