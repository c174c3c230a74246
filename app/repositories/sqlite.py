"""SQLite as a real database: WAL, a busy timeout and foreign keys on every connection.

Reads run in plain (deferred) transactions so web workers and the Huey consumer
read concurrently under WAL. A unit of work asks for a write transaction: the
session's read snapshot is ended and the next transaction starts with
BEGIN IMMEDIATE, so concurrent writers wait on busy_timeout in turn instead of
failing with "database is locked" when a stale snapshot tries to write.
"""
from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import event

from app.extensions import db

_local = threading.local()


def configure_sqlite(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from app.config import INSTANCE

    INSTANCE.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy issues BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = getattr(_local, "immediate", False)
        _local.immediate = False
        conn.info["write"] = immediate
        if immediate:  # through SQLAlchemy: a wait for the write lock shows in traces and SQL logs
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:  # every request's read transaction: straight to the driver (no statement machinery, no span)
            conn.connection.driver_connection.execute("BEGIN")


def begin_write(session) -> None:
    """Start the session's next transaction as a write transaction (SQLite only)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session = session() if callable(session) else session  # scoped_session → Session
    if session.in_transaction():
        if session.connection().info.get("write"):
            return  # already a write transaction (a caller started it)
        session.commit()  # ends the read snapshot; nothing is pending before a unit of work
    _local.immediate = True
