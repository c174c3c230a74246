"""Column types shared by every model."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, TypeDecorator

MAX_ID = 2**31 - 1  # ids and ticket numbers are 32-bit integers in the database


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike.

    PostgreSQL stores ``timestamptz``; SQLite has no zone, so values are stored
    as naive UTC and handed back aware. Naive input is refused: it is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def result_processor(self, dialect, coltype):
        """SQLite: parse and mark UTC in one step. A list of 20 tickets reads ~300 of these values, and
        the generic path (the driver's parser, then process_result_value) costs a call more each."""
        parse = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        if dialect.name != "sqlite" or parse is None:  # parse is None: the driver hands datetimes back
            return super().result_processor(dialect, coltype)
        utc = timezone.utc

        def process(value):
            return None if value is None else parse(value).replace(tzinfo=utc)

        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
