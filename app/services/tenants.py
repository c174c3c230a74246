"""Creating workspaces (tenants)."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import ValidationFailed
from app.extensions import db
from app.models import Tenant
from app.repositories.sqlite import begin_write
from app.repositories.tenancy import tenant_by_slug
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.sla import policies as sla_policies

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def create_tenant(name: str, slug: str, timezone: str = "UTC") -> Tenant:
    errors: dict[str, list[str]] = {}
    if not SLUG_RE.match(slug or ""):
        errors["slug"] = ["Use 2-63 lowercase letters, digits or '-'."]
    if not (name or "").strip():
        errors["name"] = ["This field is required."]
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = ["Unknown time zone."]
    if errors:
        raise ValidationFailed(errors)
    if tenant_by_slug(db.session, slug) is not None:
        raise ValidationFailed.one("slug", "This workspace already exists.")
    begin_write(db.session)
    tenant = Tenant(name=name.strip(), slug=slug, timezone=timezone)
    db.session.add(tenant)
    db.session.flush()
    with UnitOfWork(tenant, Actor.system()) as uow:  # same write transaction: tenant and audit row together
        uow.audit("CREATE", "Tenant", tenant.id, {"after": {"name": tenant.name, "slug": slug, "timezone": timezone}})
        sla_policies.create_defaults(uow)
        uow.commit()
    return tenant


def find_tenant(slug: str) -> Tenant | None:
    return tenant_by_slug(db.session, slug)
