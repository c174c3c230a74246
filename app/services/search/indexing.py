"""Keeping the search indexes current from outbox events (the ticket job runs these handlers).

``search_sql`` writes the SQL documents in the handler's unit of work, with its
ProcessedEvent row: exactly once per event. It reads the rows as they are now,
not the event's payload, so late or repeated events converge on the current state
and a missing row means "deleted".

``search_meili`` runs after it (handlers run in registration order) and sends
the same documents to Meilisearch: idempotent upserts by document id, deletes by
id or by tenant-scoped filter. It raises when Meilisearch fails, so the job is
retried; the periodic and worker-start sync (sync.py) catches up whatever
outlived the retries. Without MEILISEARCH_URL it does nothing.
"""
from __future__ import annotations

from app.models import OutboxEvent
from app.repositories.search import SearchIndexRepository
from app.repositories.unit_of_work import UnitOfWork
from app.services.events import handles

TICKET_EVENTS = ("ticket.created", "ticket.updated", "ticket.status_changed", "ticket.assigned", "ticket.deleted")
COMMENT_EVENTS = ("comment.created", "comment.updated", "comment.deleted")


def _event_refs(event: OutboxEvent) -> tuple[int | None, int | None]:
    payload = event.payload or {}
    number = (payload.get("ticket") or {}).get("number")
    comment_id = (payload.get("comment") or {}).get("id") if event.event_type in COMMENT_EVENTS else None
    return (int(number) if isinstance(number, int) else None,
            int(comment_id) if isinstance(comment_id, int) else None)


def refresh_sql(repo: SearchIndexRepository, number: int | None, comment_id: int | None) -> int | None:
    """Write the SQL documents of a ticket (by number) and a comment as they are now; the ticket id or None."""
    if comment_id is not None:
        documents = repo.comment_documents([comment_id])
        if documents:
            repo.upsert_comments(documents)
        else:
            repo.delete_comments([comment_id])
    if number is None:
        return None
    ticket_id = repo.ticket_id(number)
    if ticket_id is None:
        repo.delete_ticket_number(number)
        return None
    documents = repo.ticket_documents([ticket_id])
    repo.upsert_tickets(documents)
    repo.refresh_comment_ticket_fields(documents[0])
    return ticket_id


@handles("search_sql", *TICKET_EVENTS, *COMMENT_EVENTS)
def index_in_sql(uow: UnitOfWork, event: OutboxEvent) -> None:
    number, comment_id = _event_refs(event)
    refresh_sql(SearchIndexRepository(uow.session, uow.tenant_id), number, comment_id)


@handles("search_meili", *TICKET_EVENTS, *COMMENT_EVENTS)
def index_in_meili(uow: UnitOfWork, event: OutboxEvent) -> None:
    from app.services.search import meili_backend

    backend = meili_backend()
    if backend is None:
        return
    number, comment_id = _event_refs(event)
    repo = SearchIndexRepository(uow.session, uow.tenant_id)
    with_comments = event.event_type in TICKET_EVENTS  # status, priority, assignee reach the comments
    backend.send_changes(repo, number=number, comment_id=comment_id, with_comments=with_comments)
