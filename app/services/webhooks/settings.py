"""Webhook settings from the app's configuration (read once in app/config.py)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

DEFAULT_SCHEDULE = (60.0, 300.0, 900.0, 3600.0)


def parse_schedule(value) -> tuple[float, ...]:
    """"60,300,900,3600" (seconds between attempts) → (60.0, 300.0, 900.0, 3600.0)."""
    if isinstance(value, (list, tuple)):
        parts = [float(v) for v in value]
    else:
        parts = [float(p) for p in str(value or "").replace(" ", "").split(",") if p]
    if any(p < 0 for p in parts):
        raise ValueError("WEBHOOK_RETRY_SCHEDULE holds seconds, none negative")
    return tuple(parts) or DEFAULT_SCHEDULE


@dataclass(frozen=True)
class WebhookSettings:
    allowed_hosts: str = ""
    timeout: float = 10.0
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    overlap_hours: float = 24.0
    disable_after_days: float = 5.0

    @property
    def max_attempts(self) -> int:
        """The first attempt plus one per scheduled retry: 5 with the default schedule."""
        return len(self.schedule) + 1

    @property
    def schedule_text(self) -> str:
        """The retry schedule for people: "1 min, 5 min, 15 min, 1 h"."""
        return ", ".join(_duration(seconds) for seconds in self.schedule)

    @property
    def lease_seconds(self) -> float:
        """How long an attempt may be in flight before the sweeper takes it for lost."""
        return 2 * self.timeout + 5


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"


def current_settings() -> WebhookSettings:
    config = current_app.config
    return WebhookSettings(
        allowed_hosts=config.get("WEBHOOK_ALLOWED_HOSTS", "") or "",
        timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS", 10.0)),
        schedule=parse_schedule(config.get("WEBHOOK_RETRY_SCHEDULE", DEFAULT_SCHEDULE)),
        overlap_hours=float(config.get("WEBHOOK_SECRET_OVERLAP_HOURS", 24)),
        disable_after_days=float(config.get("WEBHOOK_DISABLE_AFTER_DAYS", 5)),
    )
