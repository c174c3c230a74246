"""Structured JSON logs: one line per event with request id, tenant, user and trace id."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from flask import Flask, g, has_request_context

from app.observability.tracing import current_trace_id

REQUEST_ID_HEADER = "X-Request-ID"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "tenant", "user", "trace_id", "method", "path", "status", "duration_ms"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestContextFilter(logging.Filter):
    """Adds who and which request to every record logged while serving a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = getattr(record, "trace_id", None) or current_trace_id()
        if has_request_context():
            from flask_login import current_user

            record.request_id = getattr(record, "request_id", None) or g.get("request_id")
            try:
                if current_user and current_user.is_authenticated:
                    record.tenant = current_user.tenant.slug
                    record.user = current_user.id
            except Exception:  # the user loader failed: log without it
                pass
            if getattr(g, "api_tenant", None):
                record.tenant = g.api_tenant
        return True


def configure_logging(app: Flask) -> None:
    if app.config.get("LOG_FORMAT", "json") == "json" and not app.testing:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestContextFilter())
        root = logging.getLogger()
        root.handlers = [handler]
        root.setLevel(app.config.get("LOG_LEVEL", "INFO"))

    @app.before_request
    def _start_request():
        from app.web.context import request_id

        request_id()

    @app.after_request
    def _request_id_header(response):
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        return response
