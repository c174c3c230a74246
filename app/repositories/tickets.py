"""Tenant-scoped ticket queries: the queue, one ticket, its conversation and activity."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.errors import TicketNotFound
from app.models import Comment, Tenant, Ticket, TicketActivity, TicketTag, User
from app.models.base import utcnow
from app.models.tickets import PRIORITIES
from app.repositories import ticket_counts
from app.repositories.pagination import MAX_PAGE, Page, count, decode_cursor, encode_cursor, paginate

SORTS = {
    # name: (column used for the order and the cursor, label)
    "updated": "updated_at",
    "created": "created_at",
    "priority": "priority",
    "due": "sla_due_at",  # SLA due soonest first (overdue on top), tickets without a running clock last
}
ASCENDING_SORTS = ("due",)
# SLA filters of the queue (saved views "Due soon" and "Breached"). A deadline that passed since the
# last sweep counts as breached, as on the SLA badges (services.sla.clocks.live_state).
SLA_FILTERS = ("due_soon", "breached")
DUE_SOON = timedelta(hours=4)
_SLA_RUNNING = ("ok", "at_risk", "paused")


# The columns of a queue row (TicketRepository.list): what the queue page shows, sorts by and the SLA badge
# reads. The API lists every column (detail=True).
LIST_COLUMNS = ("id", "number", "subject", "status", "priority", "requester_name", "requester_email", "assignee_id",
                "created_at", "updated_at", "sla_state", "sla_due_at", "reply_warn_at", "resolution_warn_at")


# What the lists select (built once): the queue's columns with the assignee's name, or every column
# (the API); both with the ticket's tags in one string (tags are [a-z0-9_-]: no space in one). The
# name and the tags are correlated subqueries, looked up for the page's rows only (TicketRepository._rows).
_ASSIGNEE_NAME = select(User.name).where(User.id == Ticket.assignee_id).correlate(Ticket).scalar_subquery()
_TAG_LIST = (select(func.aggregate_strings(TicketTag.tag, " ")).where(TicketTag.ticket_id == Ticket.id)
             .correlate(Ticket).scalar_subquery())
_LIST_SELECT = select(*(Ticket.__table__.c[column] for column in LIST_COLUMNS),
                      _ASSIGNEE_NAME.label("assignee_name"), _TAG_LIST.label("tag_list"))
_DETAIL_SELECT = select(*Ticket.__table__.c, _TAG_LIST.label("tag_list"))

# The list pages' statements, one per shape (TicketRepository._rows): a few dozen in practice, at most a
# few thousand (every combination of filters, sorts and cursor kinds), so no eviction.
_PAGE_STATEMENTS: dict[tuple, Any] = {}


def _param(name: str, *, expanding: bool = False):
    """A named placeholder whose value must come with the statement (``required``)."""
    return bindparam(name, expanding=expanding, required=True)


class TicketRow:
    """A ticket in a list: the columns of a Core row as attributes (``row.subject``), its sorted ``tags``
    (a tuple) and, in the queue, ``assignee_name`` (None when unassigned). Read-only, enforced: changes
    go through Ticket, and list pages are remembered and shared (ticket_counts.py). Every value is
    hashable: the queue keeps rendered rows by them (app/web/rows.py)."""

    def __init__(self, values: Iterable[tuple[str, Any]]):
        row = self.__dict__
        row.update(values)
        tag_list = row.pop("tag_list")
        row["tags"] = tuple(sorted(tag_list.split(" "))) if tag_list else ()

    def __setattr__(self, name: str, value: Any) -> None:
        # A list page's rows are remembered and shared by the requests that ask for it (ticket_counts.py).
        raise AttributeError(f"TicketRow is read-only ({name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"TicketRow is read-only ({name})")


@dataclass
class TicketFilter:
    statuses: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    assignee_id: int | None = None
    unassigned: bool = False
    tag: str | None = None
    text: str | None = None
    sort: str = "updated"
    sla: str | None = None  # one of SLA_FILTERS


class TicketRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    # -- one ticket -----------------------------------------------------------
    def get(self, number: int, *, for_update: bool = False) -> Ticket:
        stmt = (
            select(Ticket)
            .where(Ticket.tenant_id == self.tenant_id, Ticket.number == number)
            .options(*self._with_rows())
        )
        if for_update:
            stmt = stmt.with_for_update(of=Ticket)
        ticket = self.session.scalar(stmt)
        if ticket is None:
            raise TicketNotFound(number)
        return ticket

    def next_number(self) -> int:
        """Allocate the tenant's next ticket number under the tenant row's lock."""
        return self.session.execute(
            update(Tenant)
            .where(Tenant.id == self.tenant_id)
            .values(ticket_seq=Tenant.ticket_seq + 1)
            .returning(Tenant.ticket_seq)
        ).scalar_one()

    def add(self, ticket: Ticket) -> Ticket:
        ticket.tenant_id = self.tenant_id
        self.session.add(ticket)
        return ticket

    def set_tags(self, ticket: Ticket, tags: list[str]) -> None:
        keep = {row.tag: row for row in ticket.tag_rows}
        ticket.tag_rows = [keep.get(t) or TicketTag(tag=t, tenant_id=self.tenant_id) for t in tags]

    # -- the queue ------------------------------------------------------------
    # A filter's conditions name their parameters (``:tenant_id``, ``:statuses``…) and carry no values, so
    # one statement serves every request of the same filter shape: the list pages keep theirs
    # (_PAGE_STATEMENTS) and pass the values at execution; a statement run once gets them bound
    # (``_filtered``). A placeholder without a value is an error at execution, never another request's value.
    def _conditions(self, f: TicketFilter) -> list:
        conditions = [Ticket.tenant_id == _param("tenant_id")]
        if f.statuses:
            conditions.append(Ticket.status.in_(_param("statuses", expanding=True)))
        if f.priorities:
            conditions.append(Ticket.priority.in_(_param("priorities", expanding=True)))
        if f.unassigned:
            conditions.append(Ticket.assignee_id.is_(None))
        elif f.assignee_id is not None:
            conditions.append(Ticket.assignee_id == _param("assignee_id"))
        if f.tag:
            conditions.append(exists().where(TicketTag.tenant_id == _param("tenant_id"), TicketTag.tag == _param("tag"),
                                             TicketTag.ticket_id == Ticket.id))
        if f.text:
            conditions.append(Ticket.subject.ilike(_param("subject_like"), escape="\\"))
        if f.sla:
            conditions.append(self._sla_condition(f.sla))
        return conditions

    def _values(self, f: TicketFilter) -> dict:
        """The parameters of ``_conditions(f)``, by name."""
        values: dict[str, Any] = {"tenant_id": self.tenant_id}
        if f.statuses:
            values["statuses"] = list(f.statuses)
        if f.priorities:
            values["priorities"] = list(f.priorities)
        if not f.unassigned and f.assignee_id is not None:
            values["assignee_id"] = f.assignee_id
        if f.tag:
            values["tag"] = f.tag
        if f.text:
            escaped = f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            values["subject_like"] = f"%{escaped}%"
        if f.sla:
            values["now"] = now = utcnow()
            values["due_soon_until"] = now + DUE_SOON
        return values

    def _filtered(self, f: TicketFilter, stmt=None):
        """``stmt`` (by default ``select(Ticket)``) narrowed to this tenant's tickets matching ``f``, values bound."""
        stmt = (select(Ticket) if stmt is None else stmt).where(*self._conditions(f))
        return stmt.params(self._values(f))

    @staticmethod
    def _sla_condition(sla: str):
        """Both read ix_tickets_tenant_sla_state (tenant_id, sla_state, sla_due_at); ``:now`` is the request's time."""
        if sla == "due_soon":
            return and_(Ticket.sla_state.in_(_SLA_RUNNING), Ticket.sla_due_at >= _param("now"),
                        Ticket.sla_due_at <= _param("due_soon_until"))
        if sla == "breached":
            # The IN keeps the index search to the open states (an OR alone scans the tenant's whole index).
            return and_(Ticket.sla_state.in_(("breached", *_SLA_RUNNING)),
                        or_(Ticket.sla_state == "breached", Ticket.sla_due_at < _param("now")))
        raise ValueError(f"unknown SLA filter {sla!r}")

    def count(self, f: TicketFilter, *, exact: bool = False) -> int:
        """How many tickets match: a saved view's count, the same remembered total as the queue's. A
        write that depends on the number (bulk change by filter) asks for ``exact``: counted in its own
        write transaction, never a total remembered under the audit position the request began with."""
        return count(self.session, self._filtered(f)) if exact else self._total(f)

    def count_updated_since(self, f: TicketFilter, since: datetime, shown: list[int] = ()) -> int:
        """Tickets changed after ``since`` that match the filter, or are among the ``shown`` numbers
        (changed so that they left the view). One COUNT; ix_tickets_tenant_updated bounds the rows."""
        matching = and_(*self._conditions(f))
        if shown:
            matching = or_(matching, and_(Ticket.tenant_id == self.tenant_id, Ticket.number.in_(shown)))
        stmt = select(func.count(Ticket.id)).where(Ticket.tenant_id == self.tenant_id, Ticket.updated_at > since,
                                                   matching)
        return self.session.scalar(stmt, self._values(f)) or 0

    def numbers(self, f: TicketFilter, limit: int) -> list[int]:
        """Numbers of the matching tickets, lowest first, at most ``limit`` (bulk changes by filter)."""
        stmt = self._filtered(f, select(Ticket.number)).order_by(Ticket.number).limit(limit)
        return list(self.session.scalars(stmt))

    def lock_many(self, numbers: list[int]) -> list[Ticket]:
        """The tenant's tickets with these numbers, row-locked in number order (no deadlock between two
        bulk changes), with what a change reads loaded."""
        stmt = (
            select(Ticket)
            .where(Ticket.tenant_id == self.tenant_id, Ticket.number.in_(numbers))
            .order_by(Ticket.number)
            .options(*self._with_rows())
            .with_for_update(of=Ticket)
        )
        return list(self.session.scalars(stmt))

    @staticmethod
    def _order(f: TicketFilter):
        column = getattr(Ticket, SORTS[f.sort])
        if f.sort in ASCENDING_SORTS:
            return column, (column.asc().nulls_last(), Ticket.id.asc())
        return column, (column.desc(), Ticket.id.desc())

    @staticmethod
    def _with_rows():
        """What a change and the ticket page read: the tags, the assignee (whose tenant is this one)."""
        return selectinload(Ticket.tag_rows), selectinload(Ticket.assignee).lazyload(User.tenant)

    def _rows(self, f: TicketFilter, detail: bool, *, offset: int = 0, limit: int,
              after: tuple[Any, int] | None = None):
        """The tickets matching ``f`` (and after the cursor's (key, id), when given), in the filter's order,
        as TicketRows, read through Core in one query: every column (``detail``, the API) or LIST_COLUMNS
        and the assignee's name (the queue), with the tags. The ORM cost ~2 ms a page (identity map,
        relationship loaders); lists change nothing.

        The page's ids are chosen first (``id IN (SELECT id ... LIMIT OFFSET)``, an index-only read),
        then only those rows are read and look up their tags and assignee: a join, or the lookups in
        the same SELECT, also ran for every row an OFFSET skips (page 4,000: 41 ms on SQLite, 590 ms on
        PostgreSQL; now 2.8 ms and 17 ms).

        The statement is built once per shape and kept: building it and working out its cache key cost
        more than SQLite running it. The shape is what the values are not: which parameters there are
        (the filters present, an offset, a cursor and its kind), the sort, the SLA view, "unassigned"."""
        values = self._values(f)
        values["page_limit"] = limit
        if offset > 0:
            values["page_offset"] = offset
        if after is not None:
            key, values["after_id"] = after
            if key is not None or f.sort not in ASCENDING_SORTS:  # else: past every deadline (see _after)
                values["after_key"] = key
        shape = (detail, f.sort, f.sla, f.unassigned, frozenset(values))
        stmt = _PAGE_STATEMENTS.get(shape)
        if stmt is None:
            stmt = _PAGE_STATEMENTS[shape] = self._page_statement(f, detail, values)

        def read() -> tuple[TicketRow, ...]:
            # Through the session's connection (same transaction): rows, not ORM results, and no ORM
            # loading pass over them (9 % of an API list request, counted in instructions).
            result = self.session.connection().execute(stmt, values)
            names = list(result.keys())
            return tuple(TicketRow(zip(names, row)) for row in result)

        if f.sla is not None:  # compared with the request's time: a new answer every time
            return list(read())
        # Otherwise the page is remembered until the tenant's next audited change, as its total is. The
        # rows are read-only (TicketRow) and each caller gets its own list of them.
        what = ("page", shape, tuple(sorted((name, tuple(value) if isinstance(value, list) else value)
                                            for name, value in values.items())))
        return list(ticket_counts.until_next_change(self.session, self.tenant_id, what, read, page=True))

    def _page_statement(self, f: TicketFilter, detail: bool, values: dict):
        column, order = self._order(f)
        conditions = self._conditions(f)
        if "after_id" in values:
            conditions.append(self._after(f, column, keyed="after_key" in values))
        page = (select(Ticket.id).where(*conditions).order_by(*order).limit(_param("page_limit"))
                .correlate(None))  # never a correlated subquery
        if "page_offset" in values:
            page = page.offset(_param("page_offset"))
        # The ids are this tenant's (``page`` filters by tenant). No tenant condition out here: SQLite
        # would then walk the tenant's index in the sort order instead of looking up 20 rows by id.
        return (_DETAIL_SELECT if detail else _LIST_SELECT).where(Ticket.id.in_(page)).order_by(*order)

    @staticmethod
    def _after(f: TicketFilter, column, *, keyed: bool):
        """Rows after the cursor's (``:after_key``, ``:after_id``) in the filter's order; not ``keyed``: the
        cursor is past every ticket with a deadline (due, ascending), so those without one follow, by id."""
        last_id = _param("after_id")
        if f.sort in ASCENDING_SORTS:  # column ASC NULLS LAST, id ASC
            if not keyed:
                return and_(column.is_(None), Ticket.id > last_id)
            key = _param("after_key")
            return or_(column > key, and_(column == key, Ticket.id > last_id), column.is_(None))
        # ``column <= key`` is implied by the OR, but without it SQLite walks the index from the top and
        # filters row by row: a cursor 80,000 rows deep cost as much as OFFSET 80000.
        key = _param("after_key")
        return and_(column <= key, or_(column < key, and_(column == key, Ticket.id < last_id)))

    def list(self, f: TicketFilter, page: int, limit: int, *, detail: bool = False) -> Page:
        """An offset page of TicketRows; ``detail``: every column (the API), else LIST_COLUMNS (the queue)."""
        page = min(max(1, page), MAX_PAGE)
        rows = self._rows(f, detail, offset=(page - 1) * limit, limit=limit)
        return Page(items=rows, page=page, limit=limit, total=self._total(f))

    def list_after(self, f: TicketFilter, cursor: str | None, limit: int, *, detail: bool = False) -> Page:
        """Keyset page: rows strictly after the cursor in the sort order; stable while tickets are added."""
        rows = self._rows(f, detail, limit=limit + 1, after=self._decode(f, cursor) if cursor else None)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = self._encode(f, last)
        return Page(items=rows, page=1, limit=limit, total=self._total(f),
                    next_cursor=next_cursor, extra={"cursor": True})

    def _total(self, f: TicketFilter) -> int:
        """How many tickets match the filter, for pages and lists, remembered until the tenant's next
        audited change (repositories/ticket_counts.py); the SLA filters move with the clock: counted."""
        if f.sla is not None:
            return count(self.session, self._filtered(f))
        what = ("tickets", tuple(f.statuses), tuple(f.priorities), f.assignee_id, f.unassigned, f.tag, f.text)
        return ticket_counts.until_next_change(self.session, self.tenant_id, what,
                                               lambda: count(self.session, self._filtered(f)))

    @staticmethod
    def _encode(f: TicketFilter, ticket: Ticket | TicketRow) -> str:
        value = getattr(ticket, SORTS[f.sort])
        if isinstance(value, datetime):
            value = value.isoformat()
        elif f.sort == "priority":
            value = PRIORITIES.index(value)
        return encode_cursor([f.sort, value, ticket.id])

    @staticmethod
    def _decode(f: TicketFilter, cursor: str):
        values = decode_cursor(cursor)
        if len(values) != 3 or values[0] != f.sort or not isinstance(values[2], int):
            raise ValueError("cursor does not belong to this sort")
        _, value, last_id = values
        try:
            if f.sort == "priority":
                return PRIORITIES[int(value)], last_id
            if value is None and f.sort in ASCENDING_SORTS:
                return None, last_id
            return datetime.fromisoformat(value), last_id
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError("malformed cursor") from exc

    # -- conversation and activity -----------------------------------------------
    def comments(self, ticket: Ticket | int, *, after_id: int | None = None,
                 after_time: datetime | None = None) -> list[Comment]:
        """The conversation in order; only what came after a comment id or a time, when given."""
        ticket_id = ticket if isinstance(ticket, int) else ticket.id
        stmt = select(Comment).where(Comment.tenant_id == self.tenant_id, Comment.ticket_id == ticket_id)
        if after_id is not None:
            stmt = stmt.where(Comment.id > after_id)
        if after_time is not None:
            stmt = stmt.where(Comment.created_at > after_time)
        return list(self.session.scalars(stmt.order_by(Comment.created_at, Comment.id)
                                         .options(selectinload(Comment.author))))

    def stamp(self, number: int) -> tuple[int, datetime] | None:
        """(id, updated_at) of the ticket numbered ``number``: all a live poll needs when nothing changed."""
        row = self.session.execute(
            select(Ticket.id, Ticket.updated_at).where(Ticket.tenant_id == self.tenant_id, Ticket.number == number)
        ).first()
        return (row.id, row.updated_at) if row else None

    def comments_page(self, ticket: Ticket, page: int, limit: int) -> Page:
        stmt = (
            select(Comment)
            .where(Comment.tenant_id == self.tenant_id, Comment.ticket_id == ticket.id)
            .order_by(Comment.created_at, Comment.id)
            .options(selectinload(Comment.author))
        )
        return paginate(self.session, stmt, page, limit)

    def activities(self, ticket: Ticket | int, *, after_time: datetime | None = None) -> list[TicketActivity]:
        ticket_id = ticket if isinstance(ticket, int) else ticket.id
        stmt = select(TicketActivity).where(TicketActivity.tenant_id == self.tenant_id,
                                            TicketActivity.ticket_id == ticket_id)
        if after_time is not None:
            stmt = stmt.where(TicketActivity.created_at > after_time)
        return list(self.session.scalars(stmt.order_by(TicketActivity.created_at, TicketActivity.id)
                                         .options(selectinload(TicketActivity.actor))))

    def add_comment(self, comment: Comment) -> Comment:
        comment.tenant_id = self.tenant_id
        self.session.add(comment)
        return comment

    def add_activity(self, activity: TicketActivity) -> None:
        activity.tenant_id = self.tenant_id
        self.session.add(activity)
