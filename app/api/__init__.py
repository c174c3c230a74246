"""The JSON API under /api/v1 (flask-smorest)."""
from __future__ import annotations

from flask import Flask, current_app, render_template, url_for
from flask_smorest import Api

from app.api import audit, comments, notifications, search, sla, tickets, users, webhooks
from app.extensions import csrf

BLUEPRINTS: tuple = (tickets.blp, comments.blp, users.blp, audit.blp, webhooks.blp, search.blp, sla.blp,
                     notifications.blp, notifications.follow_blp)

# Swagger UI loads nothing from outside the app: no validator badge from validator.swagger.io.
SWAGGER_UI_CONFIG = {"validatorUrl": None}


def register_api_blueprints(app: Flask, api: Api) -> None:
    app.config.setdefault("OPENAPI_SWAGGER_UI_CONFIG", SWAGGER_UI_CONFIG)
    api.init_app(app)
    register_swagger_ui(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blp in BLUEPRINTS:
        csrf.exempt(blp)  # bearer tokens, not cookies: no CSRF
        api.register_blueprint(blp)


# -- Swagger UI ----------------------------------------------------------------------
# smorest's own page starts Swagger UI with an inline script, which the Content-Security-Policy
# refuses (app/web/security.py); OPENAPI_SWAGGER_UI_PATH is unset so it registers none, and this
# page takes its URL (/api/v1/docs) and endpoint name, with the initialiser in static/js/swagger-init.js.
SWAGGER_UI_ENDPOINT = "api-docs.openapi_swagger_ui"


def swagger_ui():
    config = current_app.config
    return render_template("api/swagger.html", title=config.get("API_TITLE", "API"),
                           spec_url=url_for("api-docs.openapi_json"),
                           swagger_ui_url=config.get("OPENAPI_SWAGGER_UI_URL", "/static/vendor/swagger-ui/"),
                           swagger_ui_config=config.get("OPENAPI_SWAGGER_UI_CONFIG", {}))


def register_swagger_ui(app: Flask) -> None:
    if SWAGGER_UI_ENDPOINT in app.view_functions:
        return  # OPENAPI_SWAGGER_UI_PATH was set: smorest's page (with its inline script) is in place
    prefix = (app.config.get("OPENAPI_URL_PREFIX") or "").rstrip("/")
    app.add_url_rule(f"{prefix}/docs", endpoint=SWAGGER_UI_ENDPOINT, view_func=swagger_ui)
