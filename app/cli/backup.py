"""flask db-backup PATH: an online backup of the database, while the app keeps running.

    flask --app wsgi db-backup backups/ticketry-2025-06-01.db      (SQLite)
    flask --app wsgi db-backup backups/ticketry-2025-06-01.dump    (PostgreSQL)

SQLite: sqlite3's online backup API (Connection.backup) copies the database a
few pages at a time into a new file, letting the web workers and the Huey
consumer write in between; the copy is a consistent snapshot (the WAL
included), checked with PRAGMA integrity_check. The file is a plain SQLite
database: restoring is copying it into place.
PostgreSQL: pg_dump in its custom format (one consistent snapshot), restored
with pg_restore. docs/operations.md has both restores.

The backup is written next to PATH and renamed into place once complete, so
PATH never holds a partial backup.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import URL, make_url

PAGES_PER_STEP = 1024  # SQLite pages copied per step; writers get the database in between


@click.command("db-backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.option("--pg-dump", "pg_dump", default=None, metavar="BINARY",
              help="The pg_dump to run for PostgreSQL (default: pg_dump on PATH; its version must be the "
                   "server's or newer).")
@with_appcontext
def db_backup(path: Path, force: bool, pg_dump: str | None) -> None:
    """Back up the database to PATH (SQLite: online backup API; PostgreSQL: pg_dump -Fc)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists: choose another name or pass --force.")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    backend = url.get_backend_name()
    try:
        if backend == "sqlite":
            backup_sqlite(url, partial)
        elif backend == "postgresql":
            backup_postgres(url, partial, pg_dump)
        else:
            raise click.ClickException(f"No backup for {backend} databases.")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    click.echo(f"Backed up the {backend} database to {path} ({path.stat().st_size} bytes).")


def backup_sqlite(url: URL, target: Path) -> None:
    source_path = url.database
    if not source_path or source_path == ":memory:" or not Path(source_path).exists():
        raise click.ClickException(f"No SQLite database file at {source_path!r}.")
    source = sqlite3.connect(source_path, timeout=30)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination, pages=PAGES_PER_STEP, sleep=0.005)
        destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        result = destination.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise click.ClickException(f"The backup failed its integrity check: {result}")
    finally:
        destination.close()
        source.close()


def backup_postgres(url: URL, target: Path, pg_dump: str | None) -> None:
    binary = pg_dump or shutil.which("pg_dump")
    if not binary:
        raise click.ClickException("pg_dump was not found: install the PostgreSQL client or pass --pg-dump.")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, where ps would show it
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run([binary, "--format=custom", "--no-owner", "--no-privileges", "--file", str(target),
                           "--dbname", dsn], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"pg_dump failed ({done.returncode}): {done.stderr.strip()}")
