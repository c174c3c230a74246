"""Planner statistics and a clean table after bulk writes.

PostgreSQL plans from the statistics ANALYZE gathers. Autovacuum gathers them in
time on a live database, but a bulk load (``flask demo seed --tickets N``, a search
reindex) writes hundreds of thousands of rows at once, and until the next analyze
the planner guesses: at 100,000 tickets the queue filtered by assignee ran at
148 req/s before ANALYZE and 264 after (docs/performance.md).

A bulk write leaves more than stale statistics until autovacuum comes by (or never,
where it is off): the new entries of a GIN index (the search index's tsvectors) wait
in an unsorted pending list that every search reads in full, a reindex leaves a dead
version of every document it rewrote, and no page is marked all-visible for
index-only scans. After a reindex of 100,000 tickets and 300,000 comments the count
of one two-word query read 479 index pages instead of 44 (18.8 ms instead of 6.1),
and two reindexes without a vacuum put the search p95 at 208 ms instead of 50
(docs/performance.md). So the bulk paths run ``VACUUM (ANALYZE)`` on the tables they
filled: about 2 s for the search index's 400,000 rows, after a reindex of 30 s.

SQLite is left alone: its plans here were chosen and checked without
``sqlite_stat1`` (docs/performance.md), and ANALYZE would change them.
"""
from __future__ import annotations

from sqlalchemy.orm import Session


def refresh_after_bulk_write(session: Session, *tables: str) -> None:
    """``VACUUM (ANALYZE)`` ``tables`` on PostgreSQL, on a connection of its own in
    autocommit (VACUUM cannot run in a transaction); nothing on SQLite."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or not tables:
        return
    session.commit()  # whatever the caller read
    names = ", ".join(f'"{name}"' for name in tables)
    engine = getattr(bind, "engine", bind)  # a session bound to a Connection: its engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {names}")
