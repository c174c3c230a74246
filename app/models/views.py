"""Saved views of the ticket queue: a named filter and sort, private to its owner or shared."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.tenancy import User


class SavedView(db.Model):
    __tablename__ = "saved_views"
    __table_args__ = (
        Index("ix_saved_views_tenant_owner", "tenant_id", "owner_id", "name"),
        Index("ix_saved_views_tenant_shared", "tenant_id", "shared", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(60))
    # Shared views are listed for everyone in the workspace; leads and admins manage them.
    shared: Mapped[bool] = mapped_column(default=False)
    # The queue's query parameters (status, priority, assignee, tag, q, sla, sort), lists of strings.
    # "assignee": ["me"] stays relative: a shared "mine" view means each viewer's own tickets.
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(lazy="raise")
