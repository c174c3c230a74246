"""Tenant-scoped reads of the audit trail, and the one delete that prune makes.

Rows are written only by the unit of work (``UnitOfWork.audit`` + commit); this
module never updates a row. ``delete_through`` is called by the prune service
alone, inside the transaction that also appends the CHECKPOINT row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from app.models import ApiToken, AuditLog, Tenant
from app.repositories.pagination import Page, paginate

DEFAULT_LIMIT = 50
MAX_LIMIT = 200  # audit lists allow more per page than the general maximum (100)
STREAM_CHUNK = 500

CHECKPOINT = "CHECKPOINT"


@dataclass
class AuditFilter:
    """What to look for; every field is optional and they combine with AND.

    ``start`` is inclusive and ``end`` exclusive; both are timezone-aware.
    ``actor_id`` is a person's user id: it matches what they did signed in and
    through any of their API tokens.
    """

    entity_type: str | None = None
    entity_id: str | None = None
    ticket_number: int | None = None
    actor_id: int | None = None
    action: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def as_dict(self) -> dict:
        """The filters that are set, JSON-ready (recorded in EXPORT rows)."""
        out = {}
        for name, value in vars(self).items():
            if value is None:
                continue
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


class AuditRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    def _scoped(self):
        return select(AuditLog).where(AuditLog.tenant_id == self.tenant_id)

    # -- searching ------------------------------------------------------------
    def _filtered(self, f: AuditFilter):
        stmt = self._scoped()
        if f.entity_type:
            stmt = stmt.where(AuditLog.entity_type == f.entity_type)
        if f.entity_id:
            stmt = stmt.where(AuditLog.entity_id == f.entity_id)
        if f.ticket_number is not None:
            stmt = stmt.where(AuditLog.ticket_number == f.ticket_number)
        if f.actor_id is not None:
            tokens = select(ApiToken.id).where(ApiToken.tenant_id == self.tenant_id, ApiToken.user_id == f.actor_id)
            stmt = stmt.where(or_(
                and_(AuditLog.actor_type == "user", AuditLog.actor_id == f.actor_id),
                and_(AuditLog.actor_type == "token", AuditLog.actor_id.in_(tokens)),
            ))
        if f.action:
            stmt = stmt.where(AuditLog.action == f.action)
        if f.start is not None:
            stmt = stmt.where(AuditLog.created_at >= f.start)
        if f.end is not None:
            stmt = stmt.where(AuditLog.created_at < f.end)
        return stmt

    @staticmethod
    def _newest_first():
        return AuditLog.created_at.desc(), AuditLog.id.desc()

    def list(self, f: AuditFilter, page: int, limit: int) -> Page:
        return paginate(self.session, self._filtered(f).order_by(*self._newest_first()), page, limit)

    def stream(self, f: AuditFilter) -> Iterator[AuditLog]:
        """Every matching row, newest first, fetched in chunks (a server-side cursor on PostgreSQL)."""
        stmt = self._filtered(f).order_by(*self._newest_first()).execution_options(yield_per=STREAM_CHUNK)
        yield from self.session.scalars(stmt)

    # -- the chain ------------------------------------------------------------
    def recorded_head(self) -> tuple[int, str]:
        """The tenant's own record of its chain: (last seq, last hash)."""
        return self.session.execute(
            select(Tenant.audit_seq, Tenant.audit_head).where(Tenant.id == self.tenant_id)
        ).one()

    def lock_head(self) -> None:
        """Take the tenant row's lock for the rest of the transaction (PostgreSQL; SQLite's
        write transaction already holds the database lock)."""
        self.session.execute(select(Tenant.id).where(Tenant.id == self.tenant_id).with_for_update())

    def first(self, upto_seq: int) -> AuditLog | None:
        stmt = self._scoped().where(AuditLog.seq <= upto_seq).order_by(AuditLog.seq).limit(1)
        return self.session.scalar(stmt)

    def chain(self, upto_seq: int, from_seq: int | None = None) -> Iterator[AuditLog]:
        """Rows in chain order, in chunks, never all in memory at once."""
        stmt = self._scoped().where(AuditLog.seq <= upto_seq)
        if from_seq is not None:
            stmt = stmt.where(AuditLog.seq >= from_seq)
        yield from self.session.scalars(stmt.order_by(AuditLog.seq).execution_options(yield_per=STREAM_CHUNK))

    def checkpoints(self, upto_seq: int) -> list[AuditLog]:
        stmt = (
            self._scoped()
            .where(AuditLog.action == CHECKPOINT, AuditLog.entity_type == "AuditLog", AuditLog.seq <= upto_seq)
            .order_by(AuditLog.seq.desc())
        )
        return list(self.session.scalars(stmt))

    def last_seq_before(self, before: datetime) -> int | None:
        """The end of the chain's prefix written before ``before``: every row up to it is older.

        Seq order is commit order, so this is the row before the first one written at or
        after ``before``; None when no row is older.
        """
        first_kept = self.session.scalar(
            select(func.min(AuditLog.seq)).where(AuditLog.tenant_id == self.tenant_id, AuditLog.created_at >= before)
        )
        if first_kept is None:
            last = self.session.scalar(select(func.max(AuditLog.seq)).where(AuditLog.tenant_id == self.tenant_id))
        else:
            last = first_kept - 1
        lowest = self.session.scalar(select(func.min(AuditLog.seq)).where(AuditLog.tenant_id == self.tenant_id))
        if last is None or lowest is None or last < lowest:
            return None
        return last

    def delete_through(self, seq: int) -> int:
        """Prune only: remove the chain's prefix up to ``seq``."""
        result = self.session.execute(
            delete(AuditLog).where(AuditLog.tenant_id == self.tenant_id, AuditLog.seq <= seq)
        )
        return result.rowcount


def tenants_by_slug(session: Session, slug: str | None = None) -> list[Tenant]:
    """The workspaces an operator's audit command covers: one by slug, or all of them."""
    stmt = select(Tenant).order_by(Tenant.slug)
    if slug is not None:
        stmt = stmt.where(Tenant.slug == slug)
    return list(session.scalars(stmt))
