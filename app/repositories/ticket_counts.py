"""Answers about a tenant's tickets, remembered until the tenant's data changes: the exact number of
tickets a queue filter matches, the rows of a list page, the assignee picker's people.

Every change to a ticket, its tags or its assignee goes through a unit of work that writes
audit rows, and writing audit rows moves the tenant's chain (``audit_seq``, ``audit_head``)
in the same transaction. The system's own changes do too: the SLA sweep writes one row
(``SLA_SWEEP``) for the alarms it marks, a deadline recompute one a batch (``SLA_RECOMPUTE``),
a bulk import one (``BULK_IMPORT``). So (tenant, audit_seq, audit_head, question) names one
state of the tenant's tickets: an answer stored under it stays exact until the next audited
change, which makes a new key. Reading the key costs nothing: the tenant row came with the
signed-in user or the API token. A count saves a ``count(*)`` over every matching index entry
(3 ms on SQLite, 27 ms on PostgreSQL at 100,000 tickets); a list page saves its SELECT and
the work of reading its rows (0.24 ms of a 1.6 ms queue request on SQLite).

Not remembered: filters whose result moves with the clock alone (the SLA filters: "due soon",
"breached"): their statements compare with the request's time.

The store is per process (each gunicorn worker and consumer has its own), bounded, least
recently used first out: counts and people share one store of MAX_ENTRIES, list pages (bigger)
have their own of MAX_PAGES. ``TICKET_COUNT_CACHE = False`` turns both off, ``TICKET_PAGE_CACHE = False``
the pages alone (create_app calls ``configure``).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from sqlalchemy.orm import Session

from app.models import Tenant

MAX_ENTRIES = 2048
MAX_PAGES = 256  # a queue page of 20 rows is about 20 KB (measured)
# Pages are also bounded by their text: an API page holds up to 100 full tickets, descriptions of up to
# 50,000 characters included. A page over MAX_PAGE_CHARACTERS is not kept; the kept ones hold at most
# MAX_STORE_CHARACTERS of text together (about 2-4 bytes a character: 50-100 MB at the very worst).
MAX_PAGE_CHARACTERS = 1_000_000
MAX_STORE_CHARACTERS = 25_000_000

_lock = threading.Lock()
_counts: OrderedDict[Hashable, Any] = OrderedDict()
_pages: OrderedDict[Hashable, Any] = OrderedDict()
_page_sizes: dict[Hashable, int] = {}  # characters of text of each kept page
_stored = {"characters": 0}
_enabled = True
_pages_enabled = True


def configure(enabled: bool, *, pages: bool = True) -> None:
    global _enabled, _pages_enabled
    _enabled = bool(enabled)
    _pages_enabled = bool(pages)
    forget_all()


def enabled() -> bool:
    return _enabled


def until_next_change(session: Session, tenant_id: int, what: Hashable, compute: Callable[[], Any], *,
                      page: bool = False) -> Any:
    """``compute()``'s answer about ``what`` (a filter's count, the people list), remembered under the
    tenant's audit chain position: exact until its next audited change.

    The tenant row came with the signed-in user or the API token at the start of the request: the
    identity map gives its position without another query. A change committed since then can make one
    answer older than the rows beside it (the next request has the new position); a write that depends
    on the answer asks the database instead."""
    if not _enabled or (page and not _pages_enabled):
        return compute()
    # The identity map first (a dict lookup; Session.get costs ten times that, asked 3 times a queue request).
    tenant = session.identity_map.get((Tenant, (tenant_id,), None)) or session.get(Tenant, tenant_id)
    key = (id(session.get_bind()), tenant_id, tenant.audit_seq, tenant.audit_head, what)
    if page:
        return _remembered_page(key, compute)
    return _remembered(_counts, MAX_ENTRIES, key, compute)


def _remembered(store: OrderedDict, bound: int, key: Hashable, compute: Callable[[], Any]) -> Any:
    """The answer stored under ``key``, or ``compute()``'s, stored."""
    with _lock:
        if key in store:
            store.move_to_end(key)
            return store[key]
    value = compute()  # outside the lock: other threads go on meanwhile (two may compute the same key)
    with _lock:
        store[key] = value
        store.move_to_end(key)
        while len(store) > bound:
            store.popitem(last=False)
    return value


def text_size(rows) -> int:
    """Characters of text a page's rows hold (what makes a page big: subjects, descriptions, emails)."""
    return sum(len(value) for row in rows for value in vars(row).values() if isinstance(value, str)) + 64 * len(rows)


def _remembered_page(key: Hashable, compute: Callable[[], Any]) -> Any:
    """A list page stored under ``key``, or ``compute()``'s, stored unless too big; bounded in count and text."""
    with _lock:
        if key in _pages:
            _pages.move_to_end(key)
            return _pages[key]
    value = compute()
    size = text_size(value)
    if size > MAX_PAGE_CHARACTERS:
        return value
    with _lock:
        if key not in _pages:
            _pages[key] = value
            _page_sizes[key] = size
            _stored["characters"] += size
        _pages.move_to_end(key)
        while len(_pages) > MAX_PAGES or _stored["characters"] > MAX_STORE_CHARACTERS:
            old, _ = _pages.popitem(last=False)
            _stored["characters"] -= _page_sizes.pop(old)
    return value


def forget_pages() -> None:
    """Drop the remembered list pages only (tests: a page's own statements, with its total remembered)."""
    with _lock:
        _pages.clear()
        _page_sizes.clear()
        _stored["characters"] = 0


def forget_all() -> None:
    forget_pages()
    with _lock:
        _counts.clear()
