"""Rebuilding and catching up the search indexes (``flask search reindex``, worker start, periodic).

Work goes in batches, each its own short write transaction, so a rebuild of a
large workspace never holds the database's write lock for long: web requests and
jobs keep writing in between, and their outbox events keep the index current.
Documents are built from the rows as they are (see SearchIndexRepository), so
tickets imported in bulk with Core (no outbox events) are indexed like any other.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select

from app.extensions import db
from app.models import Tenant
from app.models.search import SearchComment, SearchTicket
from app.models.base import utcnow
from app.repositories.search import SearchIndexRepository
from app.repositories.statistics import refresh_after_bulk_write
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.search import meili_backend
from app.services.search.indexing import refresh_sql

log = logging.getLogger(__name__)

BATCH = 1000
Progress = Callable[[int], None] | None


@dataclass
class SyncResult:
    tenant: str
    tickets: int = 0  # documents written
    comments: int = 0
    removed: int = 0  # documents of deleted rows
    remote: int = 0  # documents sent to Meilisearch

    def line(self) -> str:
        text = (f"{self.tenant}: {self.tickets:,} ticket and {self.comments:,} comment document(s) written, "
                f"{self.removed:,} removed")
        return text + (f", {self.remote:,} sent to Meilisearch" if self.remote else "")


def _uow(tenant: Tenant) -> UnitOfWork:
    return UnitOfWork(tenant, Actor.system("search"))


def tenants(slug: str | None = None) -> list[Tenant]:
    stmt = select(Tenant).order_by(Tenant.id)
    if slug is not None:
        stmt = stmt.where(Tenant.slug == slug)
    return list(db.session.scalars(stmt))


def work_size(tenant: Tenant) -> int:
    """Rows a reindex goes through: for a progress bar's length."""
    tickets, comments = SearchIndexRepository(db.session, tenant.id).source_counts()
    return (tickets + comments) * (2 if meili_backend() is not None else 1)


# -- full rebuild ----------------------------------------------------------------------------
def refresh_index_tables() -> None:
    """After a rebuild: the index tables vacuumed and analyzed on PostgreSQL (repositories/statistics.py)."""
    refresh_after_bulk_write(db.session, SearchTicket.__tablename__, SearchComment.__tablename__)


def reindex_tenant(tenant: Tenant, progress: Progress = None, *, vacuum: bool = True) -> SyncResult:
    """Rebuild ``tenant``'s documents. ``vacuum=False`` leaves the tables' VACUUM (ANALYZE) on
    PostgreSQL to the caller, which reindexes several tenants and runs ``refresh_index_tables`` once."""
    started = utcnow()
    result = SyncResult(tenant.slug)
    for kind in ("tickets", "comments"):
        after = 0
        while True:
            with _uow(tenant) as uow:
                repo = SearchIndexRepository(uow.session, tenant.id)
                if kind == "tickets":
                    ids = repo.ticket_ids_after(after, BATCH)
                    repo.upsert_tickets(repo.ticket_documents(ids))
                else:
                    ids = repo.comment_ids_after(after, BATCH)
                    repo.upsert_comments(repo.comment_documents(ids))
                uow.commit()
            if not ids:
                break
            after = ids[-1]
            setattr(result, kind, getattr(result, kind) + len(ids))
            if progress is not None:
                progress(len(ids))
    result.removed = _remove_orphans(tenant)
    if vacuum:
        refresh_index_tables()
    backend = meili_backend()
    if backend is not None:
        backend.ensure_indexes()
        repo = SearchIndexRepository(db.session, tenant.id)
        result.remote = backend.push_all(repo, progress=progress)
        backend.delete_older(tenant.id, started)
        db.session.commit()  # end the read transaction
    return result


def _remove_orphans(tenant: Tenant) -> int:
    removed = 0
    while True:
        with _uow(tenant) as uow:
            repo = SearchIndexRepository(uow.session, tenant.id)
            tickets, comments = repo.orphan_ticket_ids(BATCH), repo.orphan_comment_ids(BATCH)
            repo.delete_tickets(tickets)
            repo.delete_comments(comments)
            uow.commit()
        removed += len(tickets) + len(comments)
        if len(tickets) < BATCH and len(comments) < BATCH:
            return removed


# -- incremental catch-up ---------------------------------------------------------------------
def sync_tenant(tenant: Tenant) -> SyncResult:
    """Index what the index missed: new or changed rows without a current document, deleted rows."""
    result = SyncResult(tenant.slug)
    after = 0
    while True:  # tickets without a document or with an old one (also refreshes their comments' fields)
        with _uow(tenant) as uow:
            repo = SearchIndexRepository(uow.session, tenant.id)
            ids = repo.stale_ticket_ids(after, BATCH)
            documents = repo.ticket_documents(ids)
            repo.upsert_tickets(documents)
            for document in documents:
                repo.refresh_comment_ticket_fields(document)
            uow.commit()
        result.tickets += len(ids)
        if len(ids) < BATCH:
            break
        after = ids[-1]
    after = 0
    while True:  # comments without a document
        with _uow(tenant) as uow:
            repo = SearchIndexRepository(uow.session, tenant.id)
            ids = repo.missing_comment_ids(after, BATCH)
            repo.upsert_comments(repo.comment_documents(ids))
            uow.commit()
        result.comments += len(ids)
        if len(ids) < BATCH:
            break
        after = ids[-1]
    while True:  # comments carrying an old status, priority or assignee of their ticket
        with _uow(tenant) as uow:
            repo = SearchIndexRepository(uow.session, tenant.id)
            ticket_ids = repo.stale_comment_ticket_ids(BATCH)
            for document in repo.ticket_documents(ticket_ids):
                repo.refresh_comment_ticket_fields(document)
            uow.commit()
        if len(ticket_ids) < BATCH:
            break
    result.removed = _remove_orphans(tenant)
    backend = meili_backend()
    if backend is not None:
        from app.services.search.meili import sync_tenant as sync_remote

        backend.ensure_indexes()
        result.remote = sync_remote(backend, SearchIndexRepository(db.session, tenant.id))
        db.session.commit()
    return result


def sync_all() -> list[SyncResult]:
    """Every tenant's incremental sync; one tenant failing (Meilisearch down) does not stop the others."""
    results, failed = [], []
    for tenant in tenants():
        try:
            results.append(sync_tenant(tenant))
        except Exception:
            db.session.rollback()
            log.exception("search: sync of %s failed", tenant.slug)
            failed.append(tenant.slug)
    if failed:
        raise RuntimeError(f"search sync failed for: {', '.join(failed)}")
    return results


def refresh_ticket(tenant: Tenant, number: int) -> None:
    """Re-index one ticket now (tools and tests)."""
    with _uow(tenant) as uow:
        refresh_sql(SearchIndexRepository(uow.session, tenant.id), number, None)
        uow.commit()
