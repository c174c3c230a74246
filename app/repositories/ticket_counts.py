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
recently used first out: counts and people share one store (COUNTS), list pages (bigger) have
their own (PAGES), bounded by their text too. ``TICKET_COUNT_CACHE = False`` turns both off,
``TICKET_PAGE_CACHE = False`` the pages alone (create_app calls ``configure``).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from sqlalchemy.orm import Session

from app.models import Tenant

def _text_size(rows) -> int:
    """Characters of text a page's rows hold (what makes a page big: subjects, descriptions, emails)."""
    return sum(len(value) for row in rows for value in vars(row).values() if isinstance(value, str)) + 64 * len(rows)


class _Store:
    """Answers under keys, least recently used first out: at most ``max_entries`` of them, and at most
    ``max_total`` of ``weigh``'s measure together; an answer weighing more than ``max_one`` is not kept."""

    def __init__(self, max_entries: int, weigh: Callable[[Any], int] = lambda answer: 0,
                 max_one: float = float("inf"), max_total: float = float("inf")):
        self.max_entries, self.weigh, self.max_one, self.max_total = max_entries, weigh, max_one, max_total
        self.answers: OrderedDict[Hashable, Any] = OrderedDict()
        self.weights: dict[Hashable, int] = {}
        self.total = 0
        self.lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The answer stored under ``key``, or ``compute()``'s, stored."""
        with self.lock:
            if key in self.answers:
                self.answers.move_to_end(key)
                return self.answers[key]
        value = compute()  # outside the lock: other threads go on meanwhile (two may compute the same key)
        weight = self.weigh(value)
        if weight > self.max_one:
            return value
        with self.lock:
            if key not in self.answers:
                self.weights[key] = weight
                self.total += weight
            self.answers[key] = value
            self.answers.move_to_end(key)
            while len(self.answers) > self.max_entries or self.total > self.max_total:
                oldest, _ = self.answers.popitem(last=False)
                self.total -= self.weights.pop(oldest)
        return value

    def clear(self) -> None:
        with self.lock:
            self.answers.clear()
            self.weights.clear()
            self.total = 0


# Counts and the people picker: small answers.
COUNTS = _Store(max_entries=2048)
# List pages: a queue page of 20 rows is about 20 KB (measured). An API page holds up to 100 full tickets,
# descriptions of up to 50,000 characters included, so pages are also bounded by their text: one over a
# million characters is not kept, and the kept ones hold at most 25 million together (about 2-4 bytes a
# character: 50-100 MB at the very worst).
PAGES = _Store(max_entries=256, weigh=_text_size, max_one=1_000_000, max_total=25_000_000)

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
    return (PAGES if page else COUNTS).get(key, compute)


def forget_pages() -> None:
    """Drop the remembered list pages only (tests: a page's own statements, with its total remembered)."""
    PAGES.clear()


def forget_all() -> None:
    PAGES.clear()
    COUNTS.clear()
