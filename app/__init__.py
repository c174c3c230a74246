"""The application factory: it only wires configuration, extensions and blueprints."""
from __future__ import annotations

from flask import Flask

from app.flask_app import TicketryFlask
from app.config import ROOT, Config
from app import extensions as ext
from app.json_provider import OrjsonProvider


def create_app(overrides: dict | None = None) -> Flask:
    app = TicketryFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(Config())
    app.config.update(overrides or {})
    app.json = OrjsonProvider(app)

    register_tracing(app)  # first: the database engine created next is then traced
    register_extensions(app)
    register_database(app)
    register_jobs(app)
    register_pages(app)
    register_api(app)
    register_error_handling(app)
    register_security_headers(app)
    register_observability(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (the whole schema, for Alembic)

    # A server connection may have been closed under the pool (a PostgreSQL restart): ping on checkout.
    # A SQLite file cannot go away like that, and the ping cost a third of a bare query there. PostgreSQL
    # with psycopg pings only a connection that sat idle (app/repositories/postgresql.py).
    from app.repositories import postgresql

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("pool_pre_ping", not (url.startswith("sqlite") or postgresql.applies_to(url)))
    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(ROOT / "migrations"))
    ext.login_manager.init_app(app)
    ext.csrf.init_app(app)
    ext.mail.init_app(app)
    ext.htmx.init_app(app)


def register_database(app: Flask) -> None:
    from app.repositories import ticket_counts
    from app.repositories.postgresql import configure_postgresql
    from app.repositories.sqlite import configure_sqlite

    ticket_counts.configure(app.config["TICKET_COUNT_CACHE"], pages=app.config["TICKET_PAGE_CACHE"])

    configure_sqlite(app)
    configure_postgresql(app)


def register_jobs(app: Flask) -> None:
    from app import tasks  # noqa: F401  (registers every task and the outbox dispatch hook)
    from app.queue import configure_queue

    configure_queue(app.config)


def register_pages(app: Flask) -> None:
    from app.web import register_web

    register_web(app)


def register_api(app: Flask) -> None:
    from app.api import register_api_blueprints

    register_api_blueprints(app, ext.api)


def register_error_handling(app: Flask) -> None:
    from app.web.errors import register_error_pages

    register_error_pages(app)  # after the API: replaces smorest's JSON-only handler


def register_security_headers(app: Flask) -> None:
    from app.web.security import register_security

    register_security(app)  # CSP, nosniff, frame and referrer rules, HSTS in production: every response


def register_tracing(app: Flask) -> None:
    from app.observability.tracing import configure_tracing

    configure_tracing(app)


def register_observability(app: Flask) -> None:
    from app.observability import health
    from app.observability.logging import configure_logging
    from app.observability.metrics import register_metrics

    configure_logging(app)
    register_metrics(app)
    app.register_blueprint(health.bp)


def register_cli(app: Flask) -> None:
    from app.cli import register_commands

    register_commands(app)
