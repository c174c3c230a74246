"""Canned replies (macros): a named reply body with placeholders, and optional actions on send."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class Macro(db.Model):
    """One tenant's canned reply. ``add_tags`` holds normalised tags joined by commas ("" for none)."""

    __tablename__ = "macros"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_macros_tenant_updated", "tenant_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    set_status: Mapped[str | None] = mapped_column(String(16))
    add_tags: Mapped[str] = mapped_column(String(1100), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def tags(self) -> list[str]:
        return [t for t in (self.add_tags or "").split(",") if t]

    @property
    def has_actions(self) -> bool:
        return bool(self.set_status or self.tags)
