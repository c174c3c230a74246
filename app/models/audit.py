"""The tenant-wide, append-only, hash-chained audit trail."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class AuditLog(db.Model):
    __tablename__ = "audit_logs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_logs_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_audit_logs_tenant_entity", "tenant_id", "entity_type", "entity_id", "id"),
        Index("ix_audit_logs_tenant_actor", "tenant_id", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column()  # position in the tenant's chain, 1-based
    actor_type: Mapped[str] = mapped_column(String(16))  # user, token, system
    actor_id: Mapped[int | None] = mapped_column()
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    ticket_number: Mapped[int | None] = mapped_column()
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


GENESIS = "0" * 64


def canonical_row(row: AuditLog) -> dict:
    """The fields a row's hash covers, in a form that survives a database round trip."""
    return {
        "tenant_id": row.tenant_id,
        "seq": row.seq,
        "actor_type": row.actor_type,
        "actor_id": row.actor_id,
        "actor_label": row.actor_label,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "ticket_number": row.ticket_number,
        "changes": row.changes or {},
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "request_id": row.request_id,
        "created_at": row.created_at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
    }


def chain_hash(prev_hash: str, row: AuditLog) -> str:
    body = json.dumps(canonical_row(row), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()
