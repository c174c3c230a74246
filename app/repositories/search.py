"""Tenant-scoped reads and writes of the SQL search index (search_tickets, search_comments).

Documents are built here from the source rows (tickets, their tags and assignee,
comments and their author) with plain SELECTs, so rows written in bulk with Core
(``flask demo seed --tickets N``) index exactly like rows written by the services.
Writes are upserts keyed by the document id: running the same write twice is the
same as once. Every query names the repository's tenant.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from app.models import Comment, Ticket, TicketTag, User
from app.models.base import utcnow
from app.models.search import SearchComment, SearchTicket, doc_id, tenant_id_range

CONTROL = {c: None for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)}
CONTROL.update({0xE000: None, 0xE001: None})  # the highlight sentinels (app/services/search/highlight.py)


def index_text(value: str | None) -> str:
    """Text as it goes into the index: no control characters, no highlight sentinels."""
    return (value or "").translate(CONTROL)


def row_of_tenant(column, tenant_id: int):
    """``tenant_id = :tenant`` for rows looked up (or walked in order) by primary key.

    Written ``tenant_id + 0`` so the planner cannot use it as an index: without
    statistics SQLite otherwise prefers an index starting with tenant_id and scans
    the whole tenant (100,000 rows) to find 20 ids instead of 20 primary-key lookups.
    """
    return (column + 0) == tenant_id


class SearchIndexRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    # -- documents built from the source rows ----------------------------------------
    def ticket_documents(self, ticket_ids: Iterable[int]) -> list[dict]:
        ids = sorted(set(ticket_ids))
        if not ids:
            return []
        assignee = aliased(User)
        rows = self.session.execute(
            select(Ticket.id, Ticket.number, Ticket.subject, Ticket.description, Ticket.status, Ticket.priority,
                   Ticket.requester_name, Ticket.requester_email, Ticket.assignee_id, assignee.name,
                   Ticket.created_at, Ticket.updated_at)
            .outerjoin(assignee, and_(assignee.id == Ticket.assignee_id, assignee.tenant_id == self.tenant_id))
            .where(row_of_tenant(Ticket.tenant_id, self.tenant_id), Ticket.id.in_(ids))
        ).all()
        tags: dict[int, list[str]] = defaultdict(list)
        for ticket_id, tag in self.session.execute(
            select(TicketTag.ticket_id, TicketTag.tag)
            .where(row_of_tenant(TicketTag.tenant_id, self.tenant_id), TicketTag.ticket_id.in_(ids))
            .order_by(TicketTag.ticket_id, TicketTag.tag)
        ):
            tags[ticket_id].append(tag)
        now = utcnow()
        return [
            {
                "id": doc_id(self.tenant_id, r[0]), "tenant_id": self.tenant_id, "ticket_id": r[0], "number": r[1],
                "subject": index_text(r[2]), "description": index_text(r[3]), "status": r[4], "priority": r[5],
                "people": index_text(" ".join(p for p in (r[6], r[7], r[9]) if p)),
                "assignee_id": r[8], "created_at": r[10], "updated_at": r[11], "indexed_at": now,
                "tags": " ".join(tags.get(r[0], ())), "ref": str(r[1]),
            }
            for r in rows
        ]

    def comment_documents(self, comment_ids: Iterable[int]) -> list[dict]:
        ids = sorted(set(comment_ids))
        if not ids:
            return []
        author = aliased(User)
        rows = self.session.execute(
            select(Comment.id, Comment.ticket_id, Comment.author_id, Comment.body, Comment.public,
                   Comment.created_at, author.name, Ticket.number, Ticket.status, Ticket.priority,
                   Ticket.assignee_id)
            .join(Ticket, and_(Ticket.id == Comment.ticket_id, row_of_tenant(Ticket.tenant_id, self.tenant_id)))
            .outerjoin(author, and_(author.id == Comment.author_id, author.tenant_id == self.tenant_id))
            .where(row_of_tenant(Comment.tenant_id, self.tenant_id), Comment.id.in_(ids))
        ).all()
        now = utcnow()
        return [
            {
                "id": doc_id(self.tenant_id, r[0]), "tenant_id": self.tenant_id, "comment_id": r[0],
                "ticket_id": r[1], "author_id": r[2], "body": index_text(r[3]), "public": bool(r[4]),
                "created_at": r[5], "author": index_text(r[6] or "System"), "ticket_number": r[7],
                "status": r[8], "priority": r[9], "assignee_id": r[10], "indexed_at": now, "ref": str(r[7]),
            }
            for r in rows
        ]

    def ticket_id(self, number: int) -> int | None:
        return self.session.scalar(select(Ticket.id).where(Ticket.tenant_id == self.tenant_id,
                                                           Ticket.number == number))

    def ticket_ids_after(self, after_id: int, limit: int) -> list[int]:
        return list(self.session.scalars(
            select(Ticket.id).where(row_of_tenant(Ticket.tenant_id, self.tenant_id), Ticket.id > after_id)
            .order_by(Ticket.id).limit(limit)))

    def comment_ids_after(self, after_id: int, limit: int) -> list[int]:
        return list(self.session.scalars(
            select(Comment.id).where(row_of_tenant(Comment.tenant_id, self.tenant_id), Comment.id > after_id)
            .order_by(Comment.id).limit(limit)))

    def source_counts(self) -> tuple[int, int]:
        tickets = self.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.tenant_id == self.tenant_id))
        comments = self.session.scalar(select(func.count()).select_from(Comment)
                                       .where(Comment.tenant_id == self.tenant_id))
        return tickets or 0, comments or 0

    # -- writes -------------------------------------------------------------------------
    def _upsert(self, model, documents: list[dict]) -> None:
        if not documents:
            return
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(model.__table__)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={c.name: stmt.excluded[c.name] for c in model.__table__.columns if c.name != "id"},
        )
        self.session.execute(stmt, documents)

    def upsert_tickets(self, documents: list[dict]) -> None:
        self._upsert(SearchTicket, documents)

    def upsert_comments(self, documents: list[dict]) -> None:
        self._upsert(SearchComment, documents)

    def delete_tickets(self, ticket_ids: Iterable[int]) -> None:
        ids = list(ticket_ids)
        if ids:
            self.session.execute(delete(SearchTicket).where(SearchTicket.tenant_id == self.tenant_id,
                                                            SearchTicket.ticket_id.in_(ids)))

    def delete_ticket_number(self, number: int) -> None:
        """A deleted ticket: its document and its comments' documents."""
        self.session.execute(delete(SearchTicket).where(SearchTicket.tenant_id == self.tenant_id,
                                                        SearchTicket.number == number))
        self.session.execute(delete(SearchComment).where(SearchComment.tenant_id == self.tenant_id,
                                                         SearchComment.ticket_number == number))

    def delete_comments(self, comment_ids: Iterable[int]) -> None:
        ids = list(comment_ids)
        if ids:
            self.session.execute(delete(SearchComment).where(SearchComment.tenant_id == self.tenant_id,
                                                             SearchComment.comment_id.in_(ids)))

    def refresh_comment_ticket_fields(self, document: dict) -> None:
        """Copy a ticket document's status, priority and assignee to its comments' documents."""
        self.session.execute(
            update(SearchComment)
            .where(SearchComment.tenant_id == self.tenant_id, SearchComment.ticket_id == document["ticket_id"])
            .values(status=document["status"], priority=document["priority"], assignee_id=document["assignee_id"],
                    ticket_number=document["number"], indexed_at=utcnow())
        )

    # -- what the index missed (incremental sync) ------------------------------------------
    def stale_ticket_ids(self, after_id: int, limit: int) -> list[int]:
        """Tickets without a document, or whose document is older than the ticket."""
        d = SearchTicket
        return list(self.session.scalars(
            select(Ticket.id)
            .outerjoin(d, and_(d.tenant_id == Ticket.tenant_id, d.ticket_id == Ticket.id))
            .where(row_of_tenant(Ticket.tenant_id, self.tenant_id), Ticket.id > after_id,
                   (d.id.is_(None)) | (d.updated_at != Ticket.updated_at) | (d.status != Ticket.status))
            .order_by(Ticket.id).limit(limit)))

    def missing_comment_ids(self, after_id: int, limit: int) -> list[int]:
        d = SearchComment
        return list(self.session.scalars(
            select(Comment.id)
            .outerjoin(d, and_(d.tenant_id == Comment.tenant_id, d.comment_id == Comment.id))
            .where(row_of_tenant(Comment.tenant_id, self.tenant_id), Comment.id > after_id, d.id.is_(None))
            .order_by(Comment.id).limit(limit)))

    def stale_comment_ticket_ids(self, limit: int) -> list[int]:
        """Tickets whose comments' documents carry an old status, priority or assignee."""
        d = SearchComment
        return list(self.session.scalars(
            select(d.ticket_id).distinct()
            .join(Ticket, and_(Ticket.id == d.ticket_id, Ticket.tenant_id == self.tenant_id))
            .where(d.tenant_id == self.tenant_id,
                   (d.status != Ticket.status) | (d.priority != Ticket.priority)
                   | d.assignee_id.is_distinct_from(Ticket.assignee_id))
            .limit(limit)))

    def orphan_ticket_ids(self, limit: int) -> list[int]:
        d = SearchTicket
        return list(self.session.scalars(
            select(d.ticket_id)
            .outerjoin(Ticket, and_(Ticket.id == d.ticket_id, Ticket.tenant_id == self.tenant_id))
            .where(d.tenant_id == self.tenant_id, Ticket.id.is_(None)).limit(limit)))

    def orphan_comment_ids(self, limit: int) -> list[int]:
        d = SearchComment
        return list(self.session.scalars(
            select(d.comment_id)
            .outerjoin(Comment, and_(Comment.id == d.comment_id, Comment.tenant_id == self.tenant_id))
            .where(d.tenant_id == self.tenant_id, Comment.id.is_(None)).limit(limit)))

    def comment_ids_of_tickets(self, ticket_ids: Iterable[int]) -> list[int]:
        ids = list(ticket_ids)
        if not ids:
            return []
        return list(self.session.scalars(select(Comment.id).where(Comment.tenant_id == self.tenant_id,
                                                                  Comment.ticket_id.in_(ids))))

    # -- stored documents (for Meilisearch) -----------------------------------------------
    def stored_tickets(self, *, after_id: int = 0, limit: int = 1000, since=None, ticket_ids=None) -> list[SearchTicket]:
        stmt = select(SearchTicket).where(SearchTicket.tenant_id == self.tenant_id, SearchTicket.id > after_id)
        if since is not None:
            stmt = stmt.where(SearchTicket.indexed_at >= since)
        if ticket_ids is not None:
            stmt = stmt.where(SearchTicket.ticket_id.in_(list(ticket_ids)))
        return list(self.session.scalars(stmt.order_by(SearchTicket.id).limit(limit)))

    def stored_comments(self, *, after_id: int = 0, limit: int = 1000, since=None, comment_ids=None,
                        ticket_ids=None) -> list[SearchComment]:
        stmt = select(SearchComment).where(SearchComment.tenant_id == self.tenant_id, SearchComment.id > after_id)
        if since is not None:
            stmt = stmt.where(SearchComment.indexed_at >= since)
        if comment_ids is not None:
            stmt = stmt.where(SearchComment.comment_id.in_(list(comment_ids)))
        if ticket_ids is not None:
            stmt = stmt.where(SearchComment.ticket_id.in_(list(ticket_ids)))
        return list(self.session.scalars(stmt.order_by(SearchComment.id).limit(limit)))

    def stored_ids(self, kind: str) -> set[int]:
        model = SearchTicket if kind == "tickets" else SearchComment
        return set(self.session.scalars(select(model.id).where(model.tenant_id == self.tenant_id)))

    def document_id_span(self, model) -> int:
        """How many ids the tenant's documents of ``model`` span, first to last (0 without any): two
        index probes, where counting them reads them all. It stands for their number."""
        low, high = tenant_id_range(self.tenant_id)
        first, last = self.session.execute(select(func.min(model.id), func.max(model.id))
                                           .where(model.id.between(low, high))).one()
        return 0 if first is None else last - first + 1

    def stored_counts(self) -> tuple[int, int]:
        t = self.session.scalar(select(func.count()).select_from(SearchTicket)
                                .where(SearchTicket.tenant_id == self.tenant_id))
        c = self.session.scalar(select(func.count()).select_from(SearchComment)
                                .where(SearchComment.tenant_id == self.tenant_id))
        return t or 0, c or 0

    def load_tickets(self, ids: list[int]) -> list[SearchTicket]:
        if not ids:
            return []
        return list(self.session.scalars(
            select(SearchTicket).where(row_of_tenant(SearchTicket.tenant_id, self.tenant_id), SearchTicket.id.in_(ids))))

    def load_comments(self, ids: list[int]) -> list[SearchComment]:
        if not ids:
            return []
        return list(self.session.scalars(
            select(SearchComment).where(row_of_tenant(SearchComment.tenant_id, self.tenant_id),
                                        SearchComment.id.in_(ids))))

    # -- what a page of hits shows (current rows, not the index's copy) ----------------------
    def hydrate_tickets(self, ticket_ids: list[int]) -> list[dict]:
        """What a page of ticket hits shows, as the tickets are now: plain rows, tags included."""
        if not ticket_ids:
            return []
        assignee = aliased(User)
        rows = self.session.execute(
            select(Ticket.id, Ticket.number, Ticket.subject, Ticket.status, Ticket.priority, Ticket.requester_name,
                   Ticket.requester_email, Ticket.assignee_id, assignee.name.label("assignee_name"),
                   Ticket.created_at, Ticket.updated_at)
            .outerjoin(assignee, and_(assignee.id == Ticket.assignee_id, assignee.tenant_id == self.tenant_id))
            .where(row_of_tenant(Ticket.tenant_id, self.tenant_id), Ticket.id.in_(ticket_ids))).mappings().all()
        tags: dict[int, list[str]] = defaultdict(list)
        for ticket_id, tag in self.session.execute(
            select(TicketTag.ticket_id, TicketTag.tag)
            .where(row_of_tenant(TicketTag.tenant_id, self.tenant_id), TicketTag.ticket_id.in_(ticket_ids))
            .order_by(TicketTag.ticket_id, TicketTag.tag)
        ):
            tags[ticket_id].append(tag)
        return [{**row, "tags": tags.get(row["id"], [])} for row in rows]

    def hydrate_comments(self, comment_ids: list[int]) -> list[dict]:
        """What a page of comment hits shows: id, public, created_at, ticket number and subject, author name."""
        if not comment_ids:
            return []
        author = aliased(User)
        return [dict(row) for row in self.session.execute(
            select(Comment.id, Comment.public, Comment.created_at, Ticket.number, Ticket.subject,
                   author.name.label("author_name"))
            .join(Ticket, and_(Ticket.id == Comment.ticket_id, row_of_tenant(Ticket.tenant_id, self.tenant_id)))
            .outerjoin(author, and_(author.id == Comment.author_id, author.tenant_id == self.tenant_id))
            .where(row_of_tenant(Comment.tenant_id, self.tenant_id), Comment.id.in_(comment_ids))).mappings()]

    def texts(self, kind: str, ids: list[int]) -> list:
        """(document id, source id, text columns) of a page of hits, for highlighting."""
        if not ids:
            return []
        if kind == "tickets":
            d = SearchTicket
            columns = (d.id, d.ticket_id, d.subject, d.description)
        else:
            d = SearchComment
            columns = (d.id, d.comment_id, d.body)
        return list(self.session.execute(select(*columns).where(row_of_tenant(d.tenant_id, self.tenant_id),
                                                                d.id.in_(ids))))
