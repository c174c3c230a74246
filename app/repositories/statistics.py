"""Planner statistics after bulk writes.

PostgreSQL plans from the statistics ANALYZE gathers. Autovacuum gathers them in
time on a live database, but a bulk load (``flask demo seed --tickets N``, a search
reindex) writes hundreds of thousands of rows at once, and until the next analyze
the planner guesses: at 100,000 tickets the queue filtered by assignee ran at
148 req/s before ANALYZE and 264 after (docs/performance.md). So the bulk paths
analyze the tables they filled.

SQLite is left alone: its plans here were chosen and checked without
``sqlite_stat1`` (docs/performance.md), and ANALYZE would change them.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def refresh_after_bulk_write(session: Session, *tables: str) -> None:
    """ANALYZE ``tables`` on PostgreSQL, in a transaction of its own; nothing on SQLite."""
    if session.get_bind().dialect.name != "postgresql" or not tables:
        return
    session.commit()  # whatever the caller read: ANALYZE runs on its own
    session.execute(text("ANALYZE " + ", ".join(f'"{name}"' for name in tables)))
    session.commit()
