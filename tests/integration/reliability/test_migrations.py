"""Migrations up, down and up again, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

Each run gets a database of its own: a new SQLite file, or a PostgreSQL
database created for the test on TEST_DATABASE_URL's server and dropped after.
upgrade heads → downgrade base → upgrade heads must succeed; after the first
upgrade the schema is the models' (autogenerate finds nothing to add: no
migration is missing), after the downgrade no table is left but alembic_version,
and the second upgrade ends with the same schema as the first.
"""
from __future__ import annotations

import os
import re
import secrets

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.extensions import db


def _schema(engine) -> dict[str, tuple]:
    """Tables with their columns and indexes: what must be the same after a round trip."""
    inspector = inspect(engine)
    out = {}
    for table in sorted(inspector.get_table_names()):
        columns = tuple(sorted((c["name"], str(c["type"]).split("(")[0], bool(c["nullable"]))
                               for c in inspector.get_columns(table)))
        indexes = tuple(sorted((i["name"] or "", tuple(i["column_names"] or ())) for i in inspector.get_indexes(table)))
        out[table] = (columns, indexes)
    return out


# Dialect-specific search objects made by raw SQL in the search migration (FTS5 tables on SQLite,
# a generated tsvector column and its GIN index on PostgreSQL): not in the models, on purpose.
DIALECT_ONLY = re.compile(r"^search_\w+_fts(_\w+)?$|_tsv$|^tsv$")


def _drift(engine) -> list:
    """What autogenerate would change: the migrated schema against the models (types compared)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def name_of(diff) -> str:
        for part in diff[1:] if isinstance(diff, tuple) else ():
            name = getattr(part, "name", None)
            if name:
                return name
        return ""

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    flat = [d for diff in diffs for d in (diff if isinstance(diff, list) else [diff])]
    return [d for d in flat if not DIALECT_ONLY.search(name_of(d))]


def _round_trip(url: str, tmp_path) -> None:
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from tests.integration.reliability.support import own_queue_settings

    with own_queue_settings():
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "HUEY_IMMEDIATE": True,
                          "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"), "REDIS_URL": ""})
        with app.app_context():
            upgrade(revision="heads")
            first = _schema(db.engine)
            missing = {t.name for t in db.metadata.sorted_tables} - set(first)
            assert not missing, f"tables of the models that no migration creates: {sorted(missing)}"
            drift = _drift(db.engine)
            assert not drift, f"the models and the migrations disagree (a migration is missing): {drift}"
            heads = {r for (r,) in db.session.execute(text("SELECT version_num FROM alembic_version"))}
            db.session.remove()

            downgrade(revision="base")
            left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert not left, f"tables left after downgrade to base: {sorted(left)}"
            db.session.remove()

            upgrade(revision="heads")
            assert _schema(db.engine) == first, "the schema differs after downgrade base + upgrade heads"
            again = {r for (r,) in db.session.execute(text("SELECT version_num FROM alembic_version"))}
            assert again == heads
            db.session.remove()
            db.engine.dispose()


def test_migrations_round_trip_on_sqlite(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'migrations.db'}", tmp_path)


@pytest.mark.postgres
def test_migrations_round_trip_on_postgresql(tmp_path):
    server = os.environ.get("TEST_DATABASE_URL")
    if not server or not server.startswith("postgresql"):
        pytest.skip("set TEST_DATABASE_URL to a PostgreSQL server to run the migrations there")
    name = f"ticketry_migrations_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _round_trip(make_url(server).set(database=name).render_as_string(hide_password=False), tmp_path)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
