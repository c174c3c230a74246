"""Tenant-scoped queries for saved queue views."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models.views import SavedView


class SavedViewRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    def visible_to(self, user_id: int) -> list[SavedView]:
        """The user's own views and the workspace's shared ones: shared first, then by name."""
        stmt = (
            select(SavedView)
            .where(SavedView.tenant_id == self.tenant_id,
                   or_(SavedView.shared.is_(True), SavedView.owner_id == user_id))
            .order_by(SavedView.shared.desc(), SavedView.name, SavedView.id)
        )
        return list(self.session.scalars(stmt))

    def get_visible(self, view_id: int, user_id: int, *, for_update: bool = False) -> SavedView:
        """A view the user can see; anything else (another tenant's, someone's private view) is NotFound."""
        stmt = select(SavedView).where(
            SavedView.tenant_id == self.tenant_id,
            SavedView.id == view_id,
            or_(SavedView.shared.is_(True), SavedView.owner_id == user_id),
        )
        if for_update:
            stmt = stmt.with_for_update()
        view = self.session.scalar(stmt)
        if view is None:
            raise NotFound("View", view_id)
        return view

    def name_taken(self, name: str, *, shared: bool, owner_id: int, except_id: int | None = None) -> bool:
        """Shared names are unique in the workspace, private names per owner (case-insensitive)."""
        scope = SavedView.shared.is_(True) if shared else and_(SavedView.shared.is_(False),
                                                               SavedView.owner_id == owner_id)
        stmt = select(func.count(SavedView.id)).where(
            SavedView.tenant_id == self.tenant_id, scope, func.lower(SavedView.name) == name.lower())
        if except_id is not None:
            stmt = stmt.where(SavedView.id != except_id)
        return (self.session.scalar(stmt) or 0) > 0

    def count_for(self, *, shared: bool, owner_id: int) -> int:
        scope = SavedView.shared.is_(True) if shared else and_(SavedView.shared.is_(False),
                                                               SavedView.owner_id == owner_id)
        return self.session.scalar(
            select(func.count(SavedView.id)).where(SavedView.tenant_id == self.tenant_id, scope)) or 0

    def add(self, view: SavedView) -> SavedView:
        view.tenant_id = self.tenant_id
        self.session.add(view)
        return view

    def delete(self, view: SavedView) -> None:
        self.session.delete(view)
