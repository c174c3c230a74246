"""The unit of work: one transaction for a change, its audit rows and its outbox events."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import update

from app.extensions import db
from app.models import AuditLog, OutboxEvent, Tenant, User
from app.models.audit import chain_hash
from app.models.base import utcnow
from app.repositories.notifications import NotificationRepository
from app.repositories.sla import SlaRepository
from app.repositories.sqlite import begin_write
from app.repositories.tenancy import TokenRepository, UserRepository
from app.repositories.tickets import TicketRepository
from app.repositories.views import SavedViewRepository

# Called with the committed outbox event ids; the job system registers its dispatcher here.
after_commit_hooks: list[Callable[[list[str]], None]] = []
# Called with (job name, args) for jobs a service asked for with enqueue_after_commit();
# the tasks layer installs it (services name jobs, they never import tasks).
job_dispatcher: list[Callable[[str, tuple], None]] = []


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where; built by the page, API or job that starts the work."""

    type: str  # "user", "token" or "system"
    id: int | None
    label: str
    user: User | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(type="system", id=None, label=label)

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None


class UnitOfWork:
    """Tenant-scoped repositories over Flask-SQLAlchemy's session.

    Use as a context manager; leaving it without ``commit()`` rolls back, so a
    failed change leaves no row, no audit entry and no event behind.
    """

    def __init__(self, tenant: Tenant, actor: Actor):
        self.session = db.session
        self.tenant = tenant
        self.tenant_id = tenant.id
        self.actor = actor
        self.tickets = TicketRepository(self.session, tenant.id)
        self.users = UserRepository(self.session, tenant.id)
        self.tokens = TokenRepository(self.session, tenant.id)
        self.sla = SlaRepository(self.session, tenant.id)
        self.notifications = NotificationRepository(self.session, tenant.id)
        self.views = SavedViewRepository(self.session, tenant.id)
        self._audit: list[AuditLog] = []
        self._events: list[OutboxEvent] = []
        self._jobs: list[tuple[str, tuple]] = []
        self._committed = False

    def __enter__(self) -> "UnitOfWork":
        begin_write(self.session)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._committed:
            self.rollback()

    # -- what a change records besides itself -------------------------------
    def emit(self, event_type: str, payload: dict) -> OutboxEvent:
        event = OutboxEvent(
            event_id=str(uuid.uuid4()),
            tenant_id=self.tenant_id,
            event_type=event_type,
            payload=payload,
            created_at=utcnow(),
        )
        self.session.add(event)
        self._events.append(event)
        return event

    def enqueue_after_commit(self, job_name: str, *args) -> None:
        """Ask for a job once this transaction commits (never if it rolls back).

        The row the job works on is the durable record: if the queue is down the
        job's own periodic sweeper finds the row and catches up.
        """
        self._jobs.append((job_name, args))

    def audit(
        self,
        action: str,
        entity_type: str | None = None,
        entity_id: object = None,
        changes: dict | None = None,
        ticket_number: int | None = None,
    ) -> AuditLog:
        actor = self.actor
        row = AuditLog(
            tenant_id=self.tenant_id,
            actor_type=actor.type,
            actor_id=actor.id,
            actor_label=actor.label,
            action=action,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id),
            ticket_number=ticket_number,
            changes=changes or {},
            ip_address=actor.ip_address,
            user_agent=(actor.user_agent or "")[:400] or None,
            request_id=actor.request_id,
        )
        self._audit.append(row)
        return row

    # -- transaction ---------------------------------------------------------
    def commit(self) -> None:
        self.session.flush()
        if self._audit:
            self._chain_audit_rows()
        event_ids = [e.event_id for e in self._events]
        jobs = self._jobs
        self.session.commit()
        self._committed = True
        self._audit, self._events, self._jobs = [], [], []
        for hook in after_commit_hooks:
            hook(event_ids)
        for name, args in jobs:
            for dispatch in job_dispatcher:
                dispatch(name, args)

    def rollback(self) -> None:
        self.session.rollback()
        self._audit, self._events, self._jobs = [], [], []

    def _chain_audit_rows(self) -> None:
        """Append this transaction's audit rows to the tenant's hash chain.

        The UPDATE takes the tenant row's write lock (PostgreSQL row lock, SQLite
        database lock) and returns the head as it stands after any concurrent
        writer committed, so parallel transactions queue up and never fork the chain.
        """
        n = len(self._audit)
        seq, head = self.session.execute(
            update(Tenant)
            .where(Tenant.id == self.tenant_id)
            .values(audit_seq=Tenant.audit_seq + n)
            .returning(Tenant.audit_seq, Tenant.audit_head)
        ).one()
        first = seq - n + 1
        now = utcnow()
        for offset, row in enumerate(self._audit):
            row.seq = first + offset
            row.created_at = now
            row.prev_hash = head
            row.hash = head = chain_hash(head, row)
            self.session.add(row)
        self.session.execute(update(Tenant).where(Tenant.id == self.tenant_id).values(audit_head=head))
        self.session.flush()
