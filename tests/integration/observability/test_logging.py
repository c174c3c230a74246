"""JSON log lines carry request id, tenant, user and trace id; the request id comes back in a header."""
from __future__ import annotations

import io
import json
import logging

from flask_login import login_user

from app.observability.logging import JsonFormatter, RequestContextFilter


def test_json_log_line_has_request_context(app, acme):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("ticketry.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with app.test_request_context("/tickets", headers={"X-Request-ID": "req-abc-123"}):
            app.preprocess_request()
            from app.extensions import db
            from app.models import User

            login_user(db.session.get(User, acme.agent.id))
            logger.info("hello %s", "world")
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO" and entry["logger"] == "ticketry.test"
    assert entry["request_id"] == "req-abc-123"
    assert entry["tenant"] == "acme" and entry["user"] == acme.agent.id
    assert "time" in entry


def test_request_id_is_returned_and_generated_when_absent(app):
    client = app.test_client()
    assert client.get("/health/live", headers={"X-Request-ID": "given-id"}).headers["X-Request-ID"] == "given-id"
    generated = client.get("/health/live").headers["X-Request-ID"]
    assert len(generated) == 32 and generated != "given-id"


def test_exceptions_are_logged_as_one_json_line():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]
