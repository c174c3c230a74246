"""UTCDateTime on SQLite (app/models/base.py): every stored form reads back as the same aware UTC value."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from app.models.base import UTCDateTime

UTC = timezone.utc


@pytest.fixture()
def engine():
    engine = create_engine("sqlite://")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("stored, expected", [
    ("2026-11-26 09:56:44.415666", datetime(2026, 11, 26, 9, 56, 44, 415666, tzinfo=UTC)),  # what SQLAlchemy writes
    ("2026-11-26 09:56:44", datetime(2026, 11, 26, 9, 56, 44, tzinfo=UTC)),
    ("2026-11-26T09:56:44.4156", datetime(2026, 11, 26, 9, 56, 44, 415600, tzinfo=UTC)),
    ("2026-11-26 09:56:44.415666+00:00", datetime(2026, 11, 26, 9, 56, 44, 415666, tzinfo=UTC)),  # an offset: old path
    ("2026-11-26 09:56", datetime(2026, 11, 26, 9, 56, tzinfo=UTC)),  # short: old path
    ("2026-11-26", datetime(2026, 11, 26, tzinfo=UTC)),  # a date alone: old path, still aware
])
def test_every_stored_form_reads_as_aware_utc(engine, stored, expected):
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (id, at) VALUES (1, :at)"), {"at": stored})
        value = conn.execute(select(table.c.at)).scalar_one()
    assert value == expected and value.tzinfo is not None and value.utcoffset().total_seconds() == 0


def test_a_written_value_reads_back_the_same(engine):
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    table.create(engine)
    moment = datetime(2026, 3, 29, 1, 30, 0, 7, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": 1, "at": moment}, {"id": 2, "at": None}])
        assert conn.execute(select(table.c.at).order_by(table.c.id)).scalars().all() == [moment, None]
