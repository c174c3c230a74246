"""PostgreSQL reads outside transaction blocks, writes inside them (app/repositories/postgresql.py).

Each test would fail if the module were gone (statements never prepared, a BEGIN per read) or wrong
(a write, a lock or a snapshot outside a transaction)."""
from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Tenant, Ticket
from app.services.tenants import create_tenant

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                       reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://… (the module "
                              "only acts on PostgreSQL)"),
]


def _driver():
    return db.session.connection().connection.driver_connection


def _other_connection():
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url, autocommit=True)


def test_a_read_opens_no_transaction_and_its_statement_stays_prepared(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # one connection from here on, as a sync web worker uses
        for _ in range(8):  # psycopg prepares a statement from its 5th run on a connection
            assert db.session.execute(select(Ticket.id).where(Ticket.tenant_id == -1)).all() == []
            driver = _driver()
            assert driver.autocommit is True
            assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # no BEGIN was sent
            db.session.remove()  # the request's end: a ROLLBACK used to drop psycopg's prepared statements
        prepared = db.session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
        assert any("FROM tickets" in statement for statement in prepared), prepared
        db.session.remove()


def test_a_write_after_reads_is_one_transaction(app):
    with app.app_context():
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0  # a read: autocommit
        db.session.add(Tenant(name="Half", slug="half", timezone="UTC"))
        db.session.flush()  # the INSERT starts the transaction
        assert _driver().info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0  # nothing was committed
        db.session.remove()


def test_a_locking_read_holds_its_lock_until_the_end(app):
    with app.app_context():
        tenant_id = create_tenant("Locked", "locked", "UTC").id
        db.session.remove()
        db.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update()).all()
        with _other_connection() as other:
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT id FROM tenants WHERE id = %s FOR UPDATE NOWAIT", (tenant_id,))
        db.session.rollback()
        with _other_connection() as other:  # released with the transaction
            assert other.execute("SELECT id FROM tenants WHERE id = %s FOR UPDATE NOWAIT",
                                 (tenant_id,)).fetchall() == [(tenant_id,)]
        db.session.remove()


def test_an_isolation_level_of_its_own_keeps_its_snapshot(app):
    with app.app_context():
        create_tenant("First", "first", "UTC")
        db.session.remove()
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 1
        with _other_connection() as other:
            other.execute("INSERT INTO tenants (name, slug, timezone, ticket_seq, audit_seq, audit_head, created_at) "
                          "VALUES ('Second', 'second', 'UTC', 0, 0, repeat('0', 64), now())")
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 1  # the snapshot holds
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 2  # a read of now
        assert _driver().autocommit is True  # the next transaction reads in autocommit again
        db.session.remove()


def test_a_streamed_read_runs_in_a_transaction(app):
    with app.app_context():
        for n in range(3):
            create_tenant(f"Streamed {n}", f"streamed-{n}", "UTC")
        db.session.remove()
        # yield_per uses a server-side cursor: PostgreSQL refuses one outside a transaction block
        names = [t.name for t in db.session.scalars(select(Tenant).order_by(Tenant.id)
                                                      .execution_options(yield_per=2))]
        assert names == ["Streamed 0", "Streamed 1", "Streamed 2"]
        db.session.remove()


def test_a_connection_returns_to_the_pool_in_the_drivers_default(app):
    with app.app_context():
        db.session.remove()
        db.session.execute(select(Tenant.id)).all()
        assert _driver().autocommit is True
        db.session.remove()
        raw = db.engine.raw_connection()
        try:
            assert raw.driver_connection.autocommit is False
        finally:
            raw.close()


def test_only_a_connection_that_sat_in_the_pool_is_pinged(app, monkeypatch):
    import time

    from app.repositories import postgresql

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        pings = []
        real_ping = db.engine.dialect.do_ping
        monkeypatch.setattr(db.engine.dialect, "do_ping", lambda conn: pings.append(1) or real_ping(conn))
        db.session.execute(select(Tenant.id)).all()
        db.session.remove()
        assert len(pings) == 1  # a new connection is checked
        for _ in range(5):  # back within milliseconds, as under load: no ping, no round trip
            db.session.execute(select(Tenant.id)).all()
            db.session.remove()
        assert len(pings) == 1
        time.sleep(postgresql.PING_AFTER_IDLE * 2)
        db.session.execute(select(Tenant.id)).all()
        db.session.remove()
        assert len(pings) == 2  # idle for longer: checked again


def test_a_connection_killed_while_idle_in_the_pool_is_replaced(app):
    import time

    from app.repositories import postgresql

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        first = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()
        with _other_connection() as other:
            assert other.execute("SELECT pg_terminate_backend(%s)", (first,)).fetchone() == (True,)
        time.sleep(postgresql.PING_AFTER_IDLE * 2)
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0  # no error: a new connection
        assert db.session.scalar(text("SELECT pg_backend_pid()")) != first
        db.session.remove()
