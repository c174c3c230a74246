"""The versioned JSON body of every webhook (documented in docs/webhooks.md)."""
from __future__ import annotations

import json
from datetime import datetime

from app.models import Tenant

VERSION = 1


def envelope(event_id: str, event_type: str, created_at: datetime, tenant: Tenant, data: dict) -> dict:
    return {
        "id": event_id,
        "type": event_type,
        "version": VERSION,
        "timestamp": created_at.isoformat(),
        "workspace": {"id": tenant.id, "slug": tenant.slug},
        "data": data,
    }


def body_bytes(payload: dict) -> bytes:
    """The bytes sent and signed: compact, ASCII-only JSON (the same on every attempt)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
