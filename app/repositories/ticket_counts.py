"""The exact number of tickets a queue filter matches, remembered until the tenant's data changes.

Every change to a ticket, its tags or its assignee goes through a unit of work that writes
audit rows, and writing audit rows moves the tenant's chain (``audit_seq``, ``audit_head``)
in the same transaction. So (tenant, audit_seq, audit_head, filter) names one state of the
tenant's tickets: a count stored under it stays exact until the next audited change, which
makes a new key. Reading the key is one primary-key lookup; the ``count(*)`` it saves reads
every matching index entry (3 ms on SQLite, 27 ms on PostgreSQL at 100,000 tickets).

Not remembered: filters whose result moves with the clock alone (the SLA filters: "due soon",
"breached"), which the sweep changes without audit rows.

The same store keeps the assignee picker's list of people (``UserRepository.choices``): people
change only through audited changes too. Both ask through ``until_next_change``.

The store is per process (each gunicorn worker and consumer has its own), bounded, least
recently used first out. ``TICKET_COUNT_CACHE = False`` turns it off (create_app calls ``configure``).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from sqlalchemy.orm import Session

from app.models import Tenant

MAX_ENTRIES = 2048

_lock = threading.Lock()
_counts: OrderedDict[Hashable, Any] = OrderedDict()
_enabled = True


def configure(enabled: bool) -> None:
    global _enabled
    _enabled = bool(enabled)
    forget_all()


def enabled() -> bool:
    return _enabled


def until_next_change(session: Session, tenant_id: int, what: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()``'s answer about ``what`` (a filter's count, the people list), remembered under the
    tenant's audit chain position: exact until its next audited change.

    The tenant row came with the signed-in user or the API token at the start of the request: the
    identity map gives its position without another query. A change committed since then can make one
    answer older than the rows beside it (the next request has the new position); a write that depends
    on the answer asks the database instead."""
    if not _enabled:
        return compute()
    tenant = session.get(Tenant, tenant_id)
    return _remembered((id(session.get_bind()), tenant_id, tenant.audit_seq, tenant.audit_head, what), compute)


def _remembered(key: Hashable, compute: Callable[[], Any]) -> Any:
    """The answer stored under ``key``, or ``compute()``'s, stored."""
    with _lock:
        if key in _counts:
            _counts.move_to_end(key)
            return _counts[key]
    value = compute()  # outside the lock: other threads go on meanwhile (two may compute the same key)
    with _lock:
        _counts[key] = value
        _counts.move_to_end(key)
        while len(_counts) > MAX_ENTRIES:
            _counts.popitem(last=False)
    return value


def forget_all() -> None:
    with _lock:
        _counts.clear()
