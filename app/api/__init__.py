"""The JSON API under /api/v1 (flask-smorest)."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

BLUEPRINTS: tuple = ()


def register_api_blueprints(app: Flask, api: Api) -> None:
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blp in BLUEPRINTS:
        api.register_blueprint(blp)
