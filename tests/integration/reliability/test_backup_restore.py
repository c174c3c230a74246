"""Backups restore: `flask db-backup`, then a restore into a fresh database, compared with the source.

The database under test is the suite's (SQLite, or PostgreSQL with
TEST_DATABASE_URL). Data is made through the services, the backup is taken
with the CLI command, restored as docs/operations.md says (SQLite: the file is
the database; PostgreSQL: pg_restore into a new database), and the restored
database must have the same row count in every table and the same audit chain
head (app.services.audit.verify_chain) for every workspace, with the chain intact.
The SQLite backup is also taken while a writer keeps adding tickets (online).
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.extensions import db
from app.models import Tenant
from app.services import comments
from app.services.audit import verify_chain
from tests.conftest import make_ticket

ROOT = Path(__file__).resolve().parents[3]


def _fill(app, ws, n: int = 5) -> None:
    with app.app_context():
        for i in range(n):
            ticket = make_ticket(ws, subject=f"Backup me {i}", tags=["backup"])
            with ws.uow(ws.agent) as uow:
                comments.add_comment(uow, ticket.number, body=f"Reply {i}", public=bool(i % 2))
                uow.commit()
        db.session.remove()


def _state(engine) -> tuple[dict[str, int], dict[str, tuple]]:
    """Row count of every table, and each workspace's audit chain (ok, rows, head seq, head hash)."""
    with engine.connect() as conn:
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in db.metadata.sorted_tables}
    heads = {}
    with Session(engine) as session:
        for tenant in session.scalars(select(Tenant).order_by(Tenant.id)):
            report = verify_chain(session, tenant)
            heads[tenant.slug] = (report.ok, report.rows_checked, report.head_seq, report.head_hash)
    return counts, heads


def _backup(app, path: Path) -> None:
    result = app.test_cli_runner().invoke(args=["db-backup", str(path)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert path.exists() and not path.with_name(path.name + ".partial").exists()


def _restore_postgres(server_url: str, dump: Path):
    """pg_restore into a new database (docs/operations.md); returns its URL and a function that drops it."""
    name = f"ticketry_restore_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    env = {**os.environ, **({"PGPASSWORD": str(url.password)} if url.password else {})}
    done = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", dsn,
                           str(dump)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def test_a_backup_restores_to_the_same_rows_and_audit_head(app, acme, globex, tmp_path):
    _fill(app, acme)
    _fill(app, globex, 2)
    with app.app_context():
        source = db.engine
        before = _state(source)
        dialect = source.dialect.name
    assert all(ok for ok, *_ in before[1].values()), before[1]
    assert before[0]["tickets"] == 7 and before[0]["audit_logs"] > 0

    if dialect == "sqlite":
        backup = tmp_path / "backups" / "ticketry.db"
        _backup(app, backup)
        restored = tmp_path / "restored.db"
        shutil.copyfile(backup, restored)  # the restore: the backup file is the database
        engine = create_engine(f"sqlite:///{restored}", poolclass=NullPool)
        drop = engine.dispose
    else:
        if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
            pytest.skip("pg_dump/pg_restore are not installed")
        backup = tmp_path / "backups" / "ticketry.dump"
        _backup(app, backup)
        url, drop_database = _restore_postgres(os.environ["TEST_DATABASE_URL"], backup)
        engine = create_engine(url, poolclass=NullPool)

        def drop():
            engine.dispose()
            drop_database()
    try:
        assert _state(engine) == before
    finally:
        drop()

    # the backup is a snapshot: later changes are not in it, and a second backup refuses to overwrite it
    result = app.test_cli_runner().invoke(args=["db-backup", str(backup)])
    assert result.exit_code != 0 and "exists" in result.output


def test_an_sqlite_backup_taken_during_writes_is_consistent(tmp_path):
    """Online: a writer keeps adding tickets while the backup runs; the copy is intact and its chain verifies."""
    from tests.conftest import make_workspace
    from tests.integration.reliability.support import make_app, own_queue_settings

    with own_queue_settings():
        app = make_app(f"sqlite:///{tmp_path / 'live.db'}", tmp_path)
        from flask_migrate import upgrade

        with app.app_context():
            upgrade(revision="heads")
            ws = make_workspace("acme", "Acme")
            db.session.remove()
        _fill(app, ws, 20)
        stop, written, errors = threading.Event(), [], []

        def writer():
            with app.app_context():
                try:
                    while not stop.is_set():
                        written.append(make_ticket(ws, subject=f"Written during the backup {len(written)}").number)
                except Exception as exc:  # reported below
                    errors.append(exc)
                finally:
                    db.session.remove()

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            backups = []
            for i in range(3):
                backups.append(tmp_path / f"online-{i}.db")
                _backup(app, backups[-1])
        finally:
            stop.set()
            thread.join(30)
        assert not errors, errors
        assert written, "the writer wrote nothing during the backups"
        for backup in backups:
            engine = create_engine(f"sqlite:///{backup}", poolclass=NullPool)
            try:
                with engine.connect() as conn:
                    assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                counts, heads = _state(engine)
                assert 20 <= counts["tickets"] <= 20 + len(written)
                assert all(ok for ok, *_ in heads.values()), heads
            finally:
                engine.dispose()
        with app.app_context():
            db.engine.dispose()


def test_the_command_runs_from_the_shell(tmp_path):
    """`flask --app wsgi db-backup PATH` as an operator types it (a process of its own)."""
    from tests.integration.reliability.support import make_app, own_queue_settings

    live = tmp_path / "shell.db"
    with own_queue_settings():
        app = make_app(f"sqlite:///{live}", tmp_path)
        from flask_migrate import upgrade

        with app.app_context():
            upgrade(revision="heads")
            db.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "HUEY_", "REDIS"))}
    env.update({"DATABASE_URL": f"sqlite:///{live}", "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
                "SECRET_KEY": "backup-test", "LOG_LEVEL": "WARNING"})
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db-backup", str(tmp_path / "shell-backup.db")]
    done = subprocess.run(flask, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Backed up the sqlite database" in done.stdout
    assert (tmp_path / "shell-backup.db").stat().st_size > 0
