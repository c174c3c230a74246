"""Tenant-scoped queries for canned replies (macros)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models.base import MAX_ID
from app.models.macros import Macro


class MacroRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    def all(self) -> list[Macro]:
        stmt = select(Macro).where(Macro.tenant_id == self.tenant_id).order_by(func.lower(Macro.name), Macro.id)
        return list(self.session.scalars(stmt))

    def get(self, macro_id: int) -> Macro:
        """The tenant's macro; another tenant's (or none) is NotFound, never told apart."""
        macro = None
        if isinstance(macro_id, int) and 0 < macro_id <= MAX_ID:
            macro = self.session.scalar(select(Macro).where(Macro.tenant_id == self.tenant_id, Macro.id == macro_id))
        if macro is None:
            raise NotFound("Macro", macro_id)
        return macro

    def named(self, name: str) -> Macro | None:
        stmt = select(Macro).where(Macro.tenant_id == self.tenant_id, func.lower(Macro.name) == name.lower())
        return self.session.scalars(stmt).first()

    def add(self, macro: Macro) -> Macro:
        macro.tenant_id = self.tenant_id
        self.session.add(macro)
        return macro

    def delete(self, macro: Macro) -> None:
        self.session.delete(macro)
