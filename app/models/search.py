"""The SQL search index: one row per ticket and per comment, the text the full-text index reads.

Both tables are filled by the search outbox handler and by ``flask search reindex``;
nothing else writes them. Dialect-specific structures live in migration 0004:

- SQLite: an FTS5 table per document table (``search_tickets_fts``,
  ``search_comments_fts``) with external content and triggers that keep it in step
  with every insert, update and delete, in the same transaction.
- PostgreSQL: a generated ``tsv tsvector`` column with a GIN index. It is not
  mapped here (the model is shared by both dialects); queries name it directly.

A document's id is ``tenant_id << 32 | source id``: every tenant owns one contiguous
id range, so the FTS5 queries restrict themselves to the tenant's range inside the
index itself (see app/services/search/sql.py), besides ``tenant_id`` on every row.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.tickets import PriorityType

DocId = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid
TENANT_SHIFT = 32
SOURCE_MASK = (1 << TENANT_SHIFT) - 1

# Tables and columns the migration creates outside the models (autogenerate must leave them alone).
FTS_TABLES = ("search_tickets_fts", "search_comments_fts")


def doc_id(tenant_id: int, source_id: int) -> int:
    return (int(tenant_id) << TENANT_SHIFT) | int(source_id)


def tenant_id_range(tenant_id: int) -> tuple[int, int]:
    """The first and last document id a tenant can own."""
    low = int(tenant_id) << TENANT_SHIFT
    return low, low | SOURCE_MASK


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For migrations/env.py (``include_object=``): autogenerate ignores the FTS5 tables and the tsv column."""
    if type_ == "table" and name and any(name.startswith(t) for t in FTS_TABLES):
        return False
    if type_ == "column" and name == "tsv" and getattr(obj, "table", None) is not None \
            and obj.table.name in ("search_tickets", "search_comments"):
        return False
    return True


class SearchTicket(db.Model):
    __tablename__ = "search_tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ticket_id"),
        Index("ix_search_tickets_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(DocId, primary_key=True, autoincrement=False)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    ticket_id: Mapped[int] = mapped_column()
    number: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(PriorityType)
    assignee_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the ticket's, to find stale documents
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The indexed text (FTS5 columns on SQLite, the tsvector's sources on PostgreSQL).
    subject: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    people: Mapped[str] = mapped_column(Text)  # requester name and email, assignee name
    tags: Mapped[str] = mapped_column(Text)  # space separated
    ref: Mapped[str] = mapped_column(String(16))  # the ticket number as text: "1042" finds #1042


class SearchComment(db.Model):
    __tablename__ = "search_comments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "comment_id"),
        Index("ix_search_comments_tenant_ticket", "tenant_id", "ticket_id"),
        Index("ix_search_comments_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(DocId, primary_key=True, autoincrement=False)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    comment_id: Mapped[int] = mapped_column()
    ticket_id: Mapped[int] = mapped_column()
    ticket_number: Mapped[int] = mapped_column()
    # The ticket's fields, so comments filter like tickets; refreshed when the ticket changes.
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(PriorityType)
    assignee_id: Mapped[int | None] = mapped_column()
    public: Mapped[bool] = mapped_column()  # false: an internal note
    author_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Text)  # author's name (the requester's for customer replies)
    ref: Mapped[str] = mapped_column(String(16))
