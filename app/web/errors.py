"""Errors negotiate: JSON under /api/, product pages everywhere else.

flask-smorest installs a JSON handler for every HTTPException; this replaces it
with one that keeps smorest's JSON for the API and renders pages for people.
Domain exceptions raised by services map to their status here, once.
"""
from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, default_exceptions

from app.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from app.extensions import api

DOMAIN_STATUS = ((NotFound, 404), (PermissionDenied, 403), (InvalidTransition, 409), (Conflict, 409),
                 (ValidationFailed, 422))


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _page(status: int, message: str | None = None):
    exc = default_exceptions.get(status)
    title = exc().name if exc else "Error"
    return render_template("errors/error.html", status=status, title=title, message=message), status


def handle_http_exception(error: HTTPException):
    if wants_json():
        return api.handle_http_exception(error)
    return _page(error.code or 500, error.description if error.code not in (404, 500) else None)


def handle_domain_error(error):
    status = next(code for kind, code in DOMAIN_STATUS if isinstance(error, kind))
    if wants_json():
        body = {"code": status, "status": default_exceptions[status]().name, "message": str(error)}
        if isinstance(error, ValidationFailed):
            from app.api.errors import api_field_errors

            body["errors"] = {"json": api_field_errors(error.errors)}
        return body, status
    message = "; ".join(f"{' '.join(v)}" for v in error.errors.values()) if isinstance(error, ValidationFailed) else None
    if isinstance(error, NotFound):
        message = None  # never a hint about what exists
    return _page(status, message or (str(error) if status != 404 else None))


def register_error_pages(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    for kind, _ in DOMAIN_STATUS:
        app.register_error_handler(kind, handle_domain_error)
