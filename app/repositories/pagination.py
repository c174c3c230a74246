"""One pagination helper for pages and API: offset pages and keyset cursors."""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_PAGE = 2**31 - 1  # (page - 1) * limit must fit the database's OFFSET


@dataclass
class Page:
    items: Sequence[Any]
    page: int
    limit: int
    total: int
    next_cursor: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.limit)) if self.limit else 1

    @property
    def has_next(self) -> bool:
        if self.next_cursor is not None:
            return True
        if "cursor" in self.extra:  # keyset page: no next cursor means the last page
            return False
        return self.page < self.total_pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    def meta(self) -> dict:
        meta = {
            "page": self.page,
            "limit": self.limit,
            "total": self.total,
            "totalPages": self.total_pages,
            "hasNext": self.has_next,
            "hasPrev": self.has_prev,
        }
        if self.next_cursor is not None or "cursor" in self.extra:
            meta["nextCursor"] = self.next_cursor
        return meta


def count(session: Session, stmt: Select) -> int:
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def paginate(session: Session, stmt: Select, page: int, limit: int, *, scalars: bool = True) -> Page:
    """Run ``stmt`` for one offset page, plus one COUNT query: two queries, whatever the size."""
    page = min(max(1, page), MAX_PAGE)
    total = count(session, stmt)
    rows = session.execute(stmt.limit(limit).offset((page - 1) * limit))
    items = rows.scalars().unique().all() if scalars else rows.all()
    return Page(items=items, page=page, limit=limit, total=total)


def encode_cursor(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list:
    """Decode a cursor made by encode_cursor; ValueError for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception as exc:  # any garbage a client may send
        raise ValueError("malformed cursor") from exc
    if not isinstance(values, list):
        raise ValueError("malformed cursor")
    return values
