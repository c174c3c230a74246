"""Meilisearch behind the search interface, when MEILISEARCH_URL is set.

Two indexes, ``ticketry_tickets`` and ``ticketry_comments``, hold the documents the
SQL index holds (same ids: ``tenant_id << 32 | source id``), sent from its rows.
``tenant_id`` is a filterable attribute and every search carries
``tenant_id = <the unit of work's tenant>``; every other filter is built from
validated values (enums, integers, timestamps), never from client text.
Highlights use private-use sentinels that become <mark> after HTML escaping.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Iterable

import meilisearch

from app.models.search import SearchComment, SearchTicket, doc_id
from app.models.tickets import PRIORITIES, STATUSES
from app.repositories.search import SearchIndexRepository
from app.repositories.unit_of_work import UnitOfWork
from app.services.search import Filters, RawHit
from app.services.search.highlight import CLOSE, OPEN, from_marked, plain
from app.services.search.terms import Terms

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3
INDEX_PREFIX = "ticketry"
BATCH = 1000
SETTINGS = {
    "tickets": {
        "searchableAttributes": ["subject", "tags", "ref", "people", "description"],
        "filterableAttributes": ["tenant_id", "status", "priority", "assignee_id", "created_at", "number",
                                 "indexed_at"],
        "sortableAttributes": ["created_at", "updated_at", "indexed_at"],
        "pagination": {"maxTotalHits": 10000},
    },
    "comments": {
        "searchableAttributes": ["body", "author", "ref"],
        "filterableAttributes": ["tenant_id", "status", "priority", "assignee_id", "public", "created_at",
                                 "ticket_number", "indexed_at"],
        "sortableAttributes": ["created_at", "indexed_at"],
        "pagination": {"maxTotalHits": 10000},
    },
}


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def ticket_document(row: SearchTicket) -> dict:
    return {
        "id": row.id, "tenant_id": row.tenant_id, "ticket_id": row.ticket_id, "number": row.number,
        "subject": row.subject, "description": row.description, "people": row.people,
        "tags": row.tags.split() if row.tags else [], "ref": row.ref, "status": row.status,
        "priority": row.priority, "assignee_id": row.assignee_id, "created_at": _ts(row.created_at),
        "updated_at": _ts(row.updated_at), "indexed_at": _ms(row.indexed_at),
    }


def comment_document(row: SearchComment) -> dict:
    return {
        "id": row.id, "tenant_id": row.tenant_id, "comment_id": row.comment_id, "ticket_id": row.ticket_id,
        "ticket_number": row.ticket_number, "body": row.body, "author": row.author, "ref": row.ref,
        "public": bool(row.public), "status": row.status, "priority": row.priority,
        "assignee_id": row.assignee_id, "created_at": _ts(row.created_at), "indexed_at": _ms(row.indexed_at),
    }


def tenant_filter(tenant_id: int, filters: Filters) -> list[str]:
    """Meilisearch filter expressions (ANDed): the tenant first, then validated values only."""
    parts = [f"tenant_id = {int(tenant_id)}"]
    if filters.statuses:
        assert all(s in STATUSES for s in filters.statuses)
        parts.append("status IN [" + ", ".join(f'"{s}"' for s in filters.statuses) + "]")
    if filters.priorities:
        assert all(p in PRIORITIES for p in filters.priorities)
        parts.append("priority IN [" + ", ".join(f'"{p}"' for p in filters.priorities) + "]")
    if filters.unassigned:
        parts.append("assignee_id IS NULL")
    elif filters.assignee_id is not None:
        parts.append(f"assignee_id = {int(filters.assignee_id)}")
    if filters.created_from is not None:
        parts.append(f"created_at >= {_ts(filters.created_from)}")
    if filters.created_before is not None:
        parts.append(f"created_at < {_ts(filters.created_before)}")
    if filters.public is not None:
        parts.append(f"public = {'true' if filters.public else 'false'}")
    return parts


_ENSURED: set[str] = set()  # servers this process has sent the index settings to


class MeiliBackend:
    name = "meilisearch"

    def __init__(self, url: str, api_key: str = "", prefix: str = INDEX_PREFIX):
        self.client = meilisearch.Client(url, api_key or None, timeout=TIMEOUT_SECONDS)
        self.url = url
        self.prefix = prefix

    def index(self, kind: str):
        return self.client.index(f"{self.prefix}_{kind}")

    # -- queries ------------------------------------------------------------------------------
    def search(self, uow: UnitOfWork, kind: str, terms: Terms, filters: Filters, offset: int,
               limit: int) -> tuple[int, list[RawHit]]:
        if not terms:
            return 0, []
        if offset % limit:  # pages only: offset is always (page - 1) * limit
            raise ValueError("offset must be a multiple of limit")
        highlighted = ["subject", "description"] if kind == "tickets" else ["body"]
        cropped = ["description"] if kind == "tickets" else ["body"]
        result = self.index(kind).search(terms.plain(), {
            "filter": tenant_filter(uow.tenant_id, filters),
            "page": offset // limit + 1,
            "hitsPerPage": limit,
            "attributesToRetrieve": ["id", "ticket_id", "comment_id", "tenant_id"],
            "attributesToHighlight": highlighted,
            "attributesToCrop": cropped,
            "cropLength": 36,
            "highlightPreTag": OPEN,
            "highlightPostTag": CLOSE,
            "showRankingScore": True,
        })
        hits = []
        for hit in result.get("hits", []):
            if hit.get("tenant_id") != uow.tenant_id:  # belt and braces: never show another tenant's hit
                log.error("search: Meilisearch returned a document of another tenant; dropped")
                continue
            formatted = hit.get("_formatted") or {}
            if kind == "tickets":
                fields = {"subject": from_marked(formatted.get("subject")),
                          "snippet": from_marked(plain(formatted.get("description")))}
                hits.append(RawHit(int(hit["ticket_id"]), hit.get("_rankingScore"), fields))
            else:
                fields = {"snippet": from_marked(plain(formatted.get("body")))}
                hits.append(RawHit(int(hit["comment_id"]), hit.get("_rankingScore"), fields))
        return int(result.get("totalHits", len(hits))), hits

    # -- writes (raise on failure: the job retries) ------------------------------------------------
    def ensure_indexes(self) -> None:
        """Create both indexes (primary key ``id``) and send their settings; safe to repeat."""
        for kind, settings in SETTINGS.items():
            uid = f"{self.prefix}_{kind}"
            try:
                self.client.get_index(uid)
            except meilisearch.errors.MeilisearchApiError:
                self.client.create_index(uid, {"primaryKey": "id"})
            self.index(kind).update_settings(settings)
        _ENSURED.add(f"{self.url}|{self.prefix}")

    def upsert(self, kind: str, documents: list[dict]) -> None:
        for start in range(0, len(documents), BATCH):
            self.index(kind).add_documents(documents[start:start + BATCH], primary_key="id")

    def delete_where(self, kind: str, expressions: list[str]) -> None:
        self.index(kind).delete_documents(filter=expressions)

    def send_changes(self, repo: SearchIndexRepository, *, number: int | None, comment_id: int | None,
                     with_comments: bool) -> None:
        """Send one ticket (by number) and/or comment as the SQL index has them now."""
        if f"{self.url}|{self.prefix}" not in _ENSURED:  # a new server, or a new process: settings first
            self.ensure_indexes()
        tenant = int(repo.tenant_id)
        if comment_id is not None:
            rows = repo.stored_comments(comment_ids=[comment_id])
            if rows:
                self.upsert("comments", [comment_document(r) for r in rows])
            else:
                self.delete_where("comments", [f"tenant_id = {tenant}", f"id = {doc_id(tenant, comment_id)}"])
        if number is None:
            return
        tickets = [t for t in repo.stored_tickets(limit=1, ticket_ids=[t for t in [repo.ticket_id(number)] if t])]
        if not tickets:
            self.delete_where("tickets", [f"tenant_id = {tenant}", f"number = {int(number)}"])
            self.delete_where("comments", [f"tenant_id = {tenant}", f"ticket_number = {int(number)}"])
            return
        self.upsert("tickets", [ticket_document(tickets[0])])
        if with_comments:
            after = 0
            while rows := repo.stored_comments(after_id=after, limit=BATCH, ticket_ids=[tickets[0].ticket_id]):
                self.upsert("comments", [comment_document(r) for r in rows])
                after = rows[-1].id

    # -- sync ----------------------------------------------------------------------------------
    def push_all(self, repo: SearchIndexRepository, *, since: datetime | None = None,
                 progress=None) -> int:
        """Send the tenant's SQL documents (all, or those indexed since ``since``); returns how many."""
        sent = 0
        for kind, load, to_doc in (("tickets", repo.stored_tickets, ticket_document),
                                   ("comments", repo.stored_comments, comment_document)):
            after = 0
            while rows := load(after_id=after, limit=BATCH, since=since):
                self.upsert(kind, [to_doc(r) for r in rows])
                after = rows[-1].id
                sent += len(rows)
                if progress is not None:
                    progress(len(rows))
        return sent

    def delete_older(self, tenant_id: int, before: datetime) -> None:
        """After a full push: remove the tenant's documents the push did not refresh (deleted rows)."""
        for kind in SETTINGS:
            self.delete_where(kind, [f"tenant_id = {int(tenant_id)}", f"indexed_at < {_ms(before)}"])

    def watermark(self, kind: str, tenant_id: int) -> datetime | None:
        """The newest indexed_at the server has for the tenant."""
        result = self.index(kind).search("", {"filter": [f"tenant_id = {int(tenant_id)}"], "limit": 1,
                                              "sort": ["indexed_at:desc"], "attributesToRetrieve": ["indexed_at"]})
        hits = result.get("hits") or []
        if not hits:
            return None
        return datetime.fromtimestamp(hits[0]["indexed_at"] / 1000, tz=timezone.utc)

    def count(self, kind: str, tenant_id: int) -> int:
        page = self.index(kind).get_documents({"filter": f"tenant_id = {int(tenant_id)}", "fields": ["id"],
                                               "limit": 1})
        return int(page.total)

    def remote_ids(self, kind: str, tenant_id: int) -> set[int]:
        ids, offset = set(), 0
        while True:
            page = self.index(kind).get_documents({"filter": f"tenant_id = {int(tenant_id)}", "fields": ["id"],
                                                   "limit": BATCH, "offset": offset})
            ids.update(int(getattr(d, "id")) for d in page.results)
            offset += BATCH
            if offset >= page.total:
                return ids

    def delete_ids(self, kind: str, tenant_id: int, ids: Iterable[int]) -> None:
        ids = sorted(ids)
        for start in range(0, len(ids), BATCH):
            chunk = ", ".join(str(int(i)) for i in ids[start:start + BATCH])
            self.delete_where(kind, [f"tenant_id = {int(tenant_id)}", f"id IN [{chunk}]"])


def backend_for(config) -> MeiliBackend | None:
    url = config.get("MEILISEARCH_URL") or ""
    if not url:
        return None
    return MeiliBackend(url, config.get("MEILISEARCH_API_KEY") or "")


SYNC_OVERLAP = timedelta(hours=1)  # re-send documents indexed this long before the server's newest


def sync_tenant(backend: MeiliBackend, repo: SearchIndexRepository) -> int:
    """Catch the server up with the tenant's SQL documents: newer ones, then missing or extra ids."""
    sent = 0
    marks = [backend.watermark(kind, repo.tenant_id) for kind in SETTINGS]
    since = None if any(m is None for m in marks) else min(marks) - SYNC_OVERLAP
    sent += backend.push_all(repo, since=since)
    local_counts = dict(zip(SETTINGS, repo.stored_counts()))
    for kind, load, to_doc in (("tickets", repo.load_tickets, ticket_document),
                               ("comments", repo.load_comments, comment_document)):
        if backend.count(kind, repo.tenant_id) == local_counts[kind]:
            continue
        local, remote = repo.stored_ids(kind), backend.remote_ids(kind, repo.tenant_id)
        if remote - local:
            backend.delete_ids(kind, repo.tenant_id, remote - local)
        missing = sorted(local - remote)
        for start in range(0, len(missing), BATCH):
            rows = load(missing[start:start + BATCH])
            backend.upsert(kind, [to_doc(r) for r in rows])
            sent += len(rows)
    return sent
