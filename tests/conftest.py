"""Apps, databases and data for the whole suite.

SQLite (a fresh file per run) by default; PostgreSQL when TEST_DATABASE_URL is
set. The schema is built with the real migrations. Every test starts from empty
tables; data is made through the services, so tests go through the same rules
as people do.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import event, text

from app import create_app
from app.extensions import db
from app.models import Tenant, User
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services import people
from app.services.tenants import create_tenant

# Named test shortcut: scrypt with a small cost, so fixtures hash passwords fast.
# Production uses Werkzeug's default scrypt parameters.
people.PASSWORD_METHOD = "scrypt:1024:8:1"

PASSWORD = "demo-password"


def _worker_database(url: str, worker: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database on the same server."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("TEST_REDIS_URL"):
    # Each xdist worker flushes its own Redis database: gw0 keeps the given one, gw1 the one 2 below…
    _base, _, _db = os.environ["TEST_REDIS_URL"].rpartition("/")
    if _db.isdigit():
        os.environ["TEST_REDIS_URL"] = f"{_base}/{max(0, int(_db) - 2 * int(_WORKER.lstrip('gw') or 0))}"


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if _WORKER and url.startswith("postgresql"):
            return _worker_database(url, _WORKER)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _reset_schema(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="heads")  # every branch, until the lead linearises concurrent revisions


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = database_url(tmp_path_factory)
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        # Unit and page tests run jobs inline (Huey's immediate mode); the queue's own
        # tests start real consumer processes (tests/integration/jobs).
        "HUEY_IMMEDIATE": True,
        "HUEY_SQLITE_PATH": str(tmp_path_factory.mktemp("huey") / "huey.db"),
        "REDIS_URL": "",
    })
    _reset_schema(app)
    return app


@pytest.fixture(autouse=True)
def _empty_tables(request):
    """Every test starts with empty tables (only when it uses the app)."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def ctx(app):
    """An application context for service-level tests."""
    with app.app_context():
        yield
        db.session.remove()


@dataclass
class Workspace:
    tenant: Tenant
    admin: User
    lead: User
    agent: User

    def uow(self, user: User | None = None) -> UnitOfWork:
        user = user or self.agent
        return UnitOfWork(self.tenant, Actor(type="user", id=user.id, label=user.email, user=user,
                                             ip_address="127.0.0.1", user_agent="pytest"))


def make_workspace(slug: str, name: str) -> Workspace:
    tenant = create_tenant(name, slug, "Europe/Paris")
    with UnitOfWork(tenant, Actor.system("test")) as uow:
        users = {
            role: people.create_user(uow, email=f"{role}@{slug}.test", name=f"{role.capitalize()} {name}",
                                     role=role, password=PASSWORD)
            for role in ("admin", "lead", "agent")
        }
        uow.commit()
    return Workspace(tenant=tenant, **users)


@pytest.fixture
def acme(app):
    with app.app_context():
        ws = make_workspace("acme", "Acme")
    return ws


@pytest.fixture
def globex(app):
    with app.app_context():
        ws = make_workspace("globex", "Globex")
    return ws


def make_ticket(ws: Workspace, user: User | None = None, **fields):
    from app.services.tickets import create_ticket

    values = dict(subject="Printer on fire", description="It is **really** on fire.",
                  requester_name="Pat Customer", requester_email="pat@example.com")
    values.update(fields)
    with ws.uow(user) as uow:
        ticket = create_ticket(uow, **values)
        uow.commit()
    return ticket


def login(client, user: User, password: str = PASSWORD):
    return client.post("/login", data={"email": user.email, "password": password}, follow_redirects=False)


def browser_login(page, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real form in a browser (its CSRF token travels) and land on the queue."""
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/tickets")


@pytest.fixture
def agent_client(app, acme):
    client = app.test_client()
    login(client, acme.agent)
    return client


@pytest.fixture
def admin_client(app, acme):
    client = app.test_client()
    login(client, acme.admin)
    return client


@pytest.fixture
def sql_counter(app):
    """``with sql_counter() as statements:`` records every SQL statement run in the block."""

    @contextmanager
    def counting():
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counting
