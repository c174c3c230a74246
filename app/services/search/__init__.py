"""Full-text search of tickets and comments: one interface, two backends.

- SQL full text, always there: SQLite FTS5 or PostgreSQL tsvector + GIN
  (``sql.py``), fed by the ``search_sql`` outbox handler (``indexing.py``).
- Meilisearch (``meili.py``) when MEILISEARCH_URL is set, fed by the
  ``search_meili`` handler. When it is down or errors, queries fall back to SQL
  full text (logged and counted in ``FALLBACKS``); the SQL index is kept
  current either way, so the fallback answers with everything.

The tenant filter is always added here, from the unit of work's tenant, never
from input. Pages and API call ``search_tickets`` / ``search_comments``.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import current_app
from markupsafe import Markup

from app.observability.tracing import traced
from app.models.tickets import PRIORITIES, STATUSES
from app.repositories.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from app.repositories.search import SearchIndexRepository
from app.repositories.unit_of_work import UnitOfWork
from app.services.search.highlight import highlight
from app.services.search.terms import MAX_QUERY, Terms, parse_terms
from app.services.validation import MAX_ID, Errors

log = logging.getLogger(__name__)

KINDS = ("tickets", "comments")
VISIBILITY = ("public", "internal")


# -- the question ---------------------------------------------------------------------
@dataclass
class SearchQuery:
    text: str
    statuses: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    assignee_id: int | None = None
    unassigned: bool = False
    created_from: date | None = None  # inclusive, a day in the tenant's time zone
    created_to: date | None = None  # inclusive
    visibility: str | None = None  # comments: "public" or "internal"
    page: int = 1
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class Filters:
    """Validated filter values, the only thing backends turn into conditions."""

    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    created_from: datetime | None = None  # inclusive, UTC
    created_before: datetime | None = None  # exclusive, UTC
    public: bool | None = None


# -- the answers ---------------------------------------------------------------------
@dataclass
class RawHit:
    """What a backend returns: the source row id, its score, highlighted fields."""

    source_id: int
    score: float | None
    fields: dict[str, Markup]


@dataclass
class TicketHit:
    number: int
    subject_text: str
    subject: Markup  # highlighted
    snippet: Markup  # highlighted description
    status: str
    priority: str
    requester_name: Markup
    requester_email: Markup
    assignee_id: int | None
    assignee_name: str | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    score: float | None


@dataclass
class CommentHit:
    id: int
    ticket_number: int
    ticket_subject: str
    snippet: Markup  # highlighted body
    author: Markup  # highlighted
    author_name: str
    public: bool
    created_at: datetime
    score: float | None


class SearchBackend(Protocol):
    name: str

    def search(self, uow: UnitOfWork, kind: str, terms: Terms, filters: Filters, offset: int,
               limit: int) -> tuple[int, list[RawHit]]: ...


# -- backend choice and fallback --------------------------------------------------------
class _Fallbacks:
    """Queries Meilisearch could not answer (also ticketry_search_fallbacks_total in /metrics)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def inc(self) -> None:
        with self._lock:
            self.count += 1
        try:
            from app.observability.metrics import SEARCH_FALLBACKS

            SEARCH_FALLBACKS.inc()
        except Exception:  # metrics are optional
            pass


def _observe(backend: str, kind: str, seconds: float) -> None:
    try:
        from app.observability.metrics import SEARCH_SECONDS

        SEARCH_SECONDS.labels(backend=backend, kind=kind).observe(seconds)
    except Exception:  # metrics are optional
        pass


FALLBACKS = _Fallbacks()
COOL_DOWN_SECONDS = 30.0  # after a failure, skip Meilisearch for a while instead of waiting on it per query
_tripped_until = 0.0


def sql_backend():
    from app.services.search.sql import SqlBackend

    return SqlBackend()


def meili_backend():
    """The Meilisearch backend when MEILISEARCH_URL is configured, else None."""
    from app.services.search import meili

    return meili.backend_for(current_app.config)


def backend_name() -> str:
    return "meilisearch" if current_app.config.get("MEILISEARCH_URL") else "sql"


def _run(uow: UnitOfWork, kind: str, terms: Terms, filters: Filters, offset: int, limit: int):
    global _tripped_until
    remote = meili_backend()
    started = time.perf_counter()
    if remote is not None and time.monotonic() >= _tripped_until:
        try:
            answer = remote.search(uow, kind, terms, filters, offset, limit)
            _observe(remote.name, kind, time.perf_counter() - started)
            return remote.name, answer
        except Exception as exc:  # down, timing out, or answering errors: SQL full text answers
            _tripped_until = time.monotonic() + COOL_DOWN_SECONDS
            FALLBACKS.inc()
            log.warning("search: Meilisearch failed (%s: %s); answering from SQL full text for %.0f s",
                        type(exc).__name__, exc, COOL_DOWN_SECONDS)
    elif remote is not None:  # cooling down after a failure
        FALLBACKS.inc()
    backend = sql_backend()
    started = time.perf_counter()
    answer = backend.search(uow, kind, terms, filters, offset, limit)
    _observe(backend.name, kind, time.perf_counter() - started)
    return backend.name, answer


# -- the service functions ---------------------------------------------------------------
@traced("search.tickets")
def search_tickets(uow: UnitOfWork, query: SearchQuery) -> Page:
    """Tickets matching the query, best first; items are TicketHit."""
    terms, filters = _validate(query, "tickets", uow.tenant.timezone)
    name, (total, raw) = _run(uow, "tickets", terms, filters, (query.page - 1) * query.limit, query.limit)
    repo = SearchIndexRepository(uow.session, uow.tenant_id)
    tickets = {t["id"]: t for t in repo.hydrate_tickets([h.source_id for h in raw])}
    items = []
    for hit in raw:
        t = tickets.get(hit.source_id)
        if t is None:  # deleted since it was indexed; the index job is on its way
            continue
        items.append(TicketHit(
            number=t["number"], subject_text=t["subject"],
            subject=hit.fields.get("subject") or highlight(t["subject"], terms),
            snippet=hit.fields.get("snippet", Markup("")), status=t["status"], priority=t["priority"],
            requester_name=highlight(t["requester_name"], terms),
            requester_email=highlight(t["requester_email"], terms),
            assignee_id=t["assignee_id"], assignee_name=t["assignee_name"], tags=t["tags"],
            created_at=t["created_at"], updated_at=t["updated_at"], score=hit.score,
        ))
    return Page(items=items, page=query.page, limit=query.limit, total=total, extra={"backend": name})


@traced("search.comments")
def search_comments(uow: UnitOfWork, query: SearchQuery) -> Page:
    """Comments (replies and internal notes) matching the query, best first; items are CommentHit."""
    terms, filters = _validate(query, "comments", uow.tenant.timezone)
    name, (total, raw) = _run(uow, "comments", terms, filters, (query.page - 1) * query.limit, query.limit)
    repo = SearchIndexRepository(uow.session, uow.tenant_id)
    comments = {row["id"]: row for row in repo.hydrate_comments([h.source_id for h in raw])}
    items = []
    for hit in raw:
        row = comments.get(hit.source_id)
        if row is None:
            continue
        author = row["author_name"] or "System"
        items.append(CommentHit(
            id=row["id"], ticket_number=row["number"], ticket_subject=row["subject"],
            snippet=hit.fields.get("snippet", Markup("")), author=highlight(author, terms), author_name=author,
            public=row["public"], created_at=row["created_at"], score=hit.score,
        ))
    return Page(items=items, page=query.page, limit=query.limit, total=total, extra={"backend": name})


def _validate(query: SearchQuery, kind: str, zone: str) -> tuple[Terms, Filters]:
    errors = Errors()
    text = (query.text or "").strip()
    if not text:
        errors.add("q", "Type something to search for.")
    elif len(text) > MAX_QUERY:
        errors.add("q", f"Must be at most {MAX_QUERY} characters.")
    for status in query.statuses:
        if status not in STATUSES:
            errors.add("status", f"Unknown status {status!r}.")
    for priority in query.priorities:
        if priority not in PRIORITIES:
            errors.add("priority", f"Unknown priority {priority!r}.")
    if query.visibility not in (None, *VISIBILITY):
        errors.add("visibility", f"Must be one of: {', '.join(VISIBILITY)}.")
    if query.visibility and kind != "comments":
        errors.add("visibility", "Only comments are public or internal.")
    if query.assignee_id is not None and not (isinstance(query.assignee_id, int) and 0 < query.assignee_id <= MAX_ID):
        errors.add("assignee", "Not a person id.")
    if query.created_from and query.created_to and query.created_from > query.created_to:
        errors.add("created_to", "Must not be before the start date.")
    if not 1 <= query.limit <= MAX_LIMIT:
        errors.add("limit", f"Must be between 1 and {MAX_LIMIT}.")
    if query.page < 1:
        errors.add("page", "Must be at least 1.")
    errors.raise_if_any()
    filters = Filters(
        statuses=tuple(dict.fromkeys(query.statuses)), priorities=tuple(dict.fromkeys(query.priorities)),
        assignee_id=None if query.unassigned else query.assignee_id, unassigned=query.unassigned,
        created_from=_day_start(query.created_from, zone),
        created_before=_day_start(query.created_to + timedelta(days=1), zone) if query.created_to else None,
        public=None if query.visibility is None else query.visibility == "public",
    )
    return parse_terms(text), filters


def _day_start(day: date | None, zone: str) -> datetime | None:
    """Midnight of ``day`` in the tenant's time zone, in UTC."""
    if day is None:
        return None
    try:
        tz = ZoneInfo(zone)
    except Exception:
        tz = timezone.utc
    return datetime.combine(day, dtime.min, tzinfo=tz).astimezone(timezone.utc)


# Register the outbox handlers whenever search is imported (tasks import it at app start).
from app.services.search import indexing  # noqa: E402,F401
