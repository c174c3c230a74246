"""PostgreSQL: reads outside transaction blocks until the first statement that needs one.

Every request reads (the session row, a page) and most write nothing. In a transaction each such
request cost PostgreSQL a BEGIN and a ROLLBACK, two round trips of its own, and the ROLLBACK cost
more than itself: psycopg forgets its prepared statements on every rollback (and DEALLOCATEs them),
so no statement ever reached its prepare threshold and PostgreSQL planned every query of every
request anew (the session lookup: 164 µs of server CPU unprepared against 34 µs prepared).

So a transaction of the app's engine starts in autocommit: a plain read runs as its own statement,
which under READ COMMITTED (the server's default, the app's isolation) sees what the same statement
would see inside a transaction, since READ COMMITTED takes a new snapshot for every statement anyway.
The first statement that is not a plain read turns the transaction into a real one before it runs:
psycopg sends BEGIN, and that statement and everything after it commit or roll back together, as
before. Not a plain read, so always in a transaction:
- INSERT, UPDATE, DELETE, DDL; any text or driver-level SQL (``SELECT pg_advisory_xact_lock``);
- a SELECT that locks (FOR UPDATE / FOR SHARE), has a CTE, or streams (yield_per: server-side cursors
  need a transaction block);
- a transaction given its own isolation level (``execution_options(isolation_level=...)``, the audit
  export's REPEATABLE READ snapshot) never starts in autocommit.
A read-only transaction then ends without a round trip (psycopg has nothing to commit or roll back),
and its statements stay prepared. A connection goes back to the pool in the driver's default mode.

The ping on checkout (what ``pool_pre_ping`` did, one more round trip per request) is made only for a
connection that has sat in the pool for PING_AFTER_IDLE seconds or more, as PgBouncer's
``server_check_delay`` does (30 s there). A web worker under load takes its connection back within
milliseconds, and a server restart takes longer than the delay (0.2 s for an empty cluster here), so
a connection idle across a restart is always checked and replaced (tests/integration/reliability/
test_faults.py). What is given up: a connection that dies within 50 ms of its last use without a
restart in between (a killed backend) fails the one statement that finds it, and the pool is then
renewed, as it would be for a connection dying mid-request.
SQLite is untouched (app/repositories/sqlite.py).
"""
from __future__ import annotations

import time

from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.sql.selectable import CompoundSelect, Select

from app.extensions import db

# conn.info key: this transaction runs in autocommit until a statement needs a transaction block
_READING = "ticketry_reading"
_RETURNED = "ticketry_returned_at"  # record.info: when the connection last went back to the pool
IDLE = TransactionStatus.IDLE
PING_AFTER_IDLE = 0.05  # seconds


def applies_to(url: str) -> bool:
    """PostgreSQL through psycopg 3 (its autocommit switches without a round trip): this module then
    manages the engine's transactions and pings (create_app leaves pool_pre_ping off for it)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg"


def configure_postgresql(app: Flask) -> None:
    if not applies_to(app.config["SQLALCHEMY_DATABASE_URI"]):
        return
    with app.app_context():
        engine = db.engine
    event.listen(engine, "begin", _start_reading)
    event.listen(engine, "before_cursor_execute", _transaction_when_needed)
    event.listen(engine, "checkin", _driver_default)
    dialect = engine.dialect

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, proxy) -> None:
        ping_after_idle(dialect, dbapi_connection, record)


def _start_reading(conn) -> None:
    driver = conn.connection.driver_connection
    asked = (conn.get_execution_options().get("isolation_level") is not None  # its own isolation level
             or (driver.autocommit and _READING not in conn.info))  # autocommit set by someone else
    if asked or driver.info.transaction_status != IDLE:
        conn.info[_READING] = False  # left as it is
        return
    driver.autocommit = True
    conn.info[_READING] = True


def _transaction_when_needed(conn, cursor, statement, parameters, context, executemany) -> None:
    if conn.info.get(_READING) and not plain_read(context):
        conn.info[_READING] = False
        conn.connection.driver_connection.autocommit = False  # psycopg sends BEGIN before this statement


def plain_read(context) -> bool:
    """A SELECT that locks nothing, writes nothing and needs no cursor kept open between statements."""
    compiled = context.compiled if context is not None else None
    if compiled is None or context.isinsert or context.isupdate or context.isdelete:
        return False
    statement = compiled.statement
    if not isinstance(statement, (Select, CompoundSelect)) or getattr(compiled, "ctes", None):
        return False
    if isinstance(statement, Select) and statement._for_update_arg is not None:
        return False
    options = context.execution_options
    return not (options.get("stream_results") or options.get("yield_per"))


def _driver_default(dbapi_connection, record) -> None:
    """Back in the pool: out of autocommit, as the driver hands it out (the transaction has ended).
    ``dbapi_connection`` is None when the connection was invalidated (closed after an error)."""
    reading = record.info.pop(_READING, None)
    if dbapi_connection is not None and reading is not None and dbapi_connection.autocommit:
        dbapi_connection.autocommit = False
    record.info[_RETURNED] = time.monotonic()


def ping_after_idle(dialect, dbapi_connection, record) -> None:
    """Check a connection that sat in the pool (or is new to it). A dead one raises DisconnectionError,
    on which the pool discards it and checks out another."""
    returned = record.info.get(_RETURNED)
    if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as exc:
        if dialect.is_disconnect(exc, dbapi_connection, None):
            raise DisconnectionError("the server closed the connection while it was in the pool") from exc
        raise
