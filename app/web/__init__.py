"""Page blueprints, their shared filters, and the sign-in plumbing."""
from __future__ import annotations

from flask import Flask

from app.web import auth, jobs, people, tickets

BLUEPRINTS = (auth.bp, tickets.bp, people.bp, jobs.bp)


def register_web(app: Flask) -> None:
    from app.web.filters import register_filters
    from app.web.session import register_session

    register_session(app)
    register_filters(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
