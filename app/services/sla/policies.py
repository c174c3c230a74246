"""SLA policies and the business calendar: defaults, validation, admin changes.

Which policy a ticket follows: the first policy (by name) whose ``match_tag``
the ticket carries, else the tenant's default policy. Changing a policy or the
calendar asks for the ``sla.recompute_open_tickets`` job after commit, which
recomputes every open ticket's deadlines in batches.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

from app.errors import Conflict, PermissionDenied
from app.models import BusinessCalendar, BusinessHours, Holiday, SlaPolicy, SlaTarget
from app.models.base import utcnow
from app.models.tickets import PRIORITIES
from app.repositories.unit_of_work import UnitOfWork
from app.services.sla.calendar import Schedule, format_intervals, merge_intervals
from app.services.validation import TAG_RE, Errors, check_length, clean_text

MAX_TARGET = 60 * 24 * 365  # one year of minutes
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
RECOMPUTE_JOB = "sla.recompute_open_tickets"

# Business minutes: 480 is one working day of a 09:00-17:00 week.
DEFAULT_TARGETS = {
    "urgent": {"first_response_minutes": 60, "next_reply_minutes": 120, "resolution_minutes": 480},
    "high": {"first_response_minutes": 240, "next_reply_minutes": 480, "resolution_minutes": 1440},
    "normal": {"first_response_minutes": 480, "next_reply_minutes": 960, "resolution_minutes": 2400},
    "low": {"first_response_minutes": 960, "next_reply_minutes": 1920, "resolution_minutes": 4800},
}
DEFAULT_HOURS = {day: [(9 * 60, 17 * 60)] for day in range(5)}
TARGET_FIELDS = ("first_response_minutes", "next_reply_minutes", "resolution_minutes")


@dataclass
class TenantSla:
    """A tenant's policies and calendar, loaded once per unit of work."""

    calendar: BusinessCalendar | None
    policies: list[SlaPolicy]
    _schedules: dict = field(default_factory=dict)

    def policy_for(self, tags) -> SlaPolicy | None:
        tags = set(tags)
        for policy in self.policies:
            if policy.match_tag and policy.match_tag in tags:
                return policy
        return next((p for p in self.policies if p.is_default), None)

    def policy(self, policy_id: int | None) -> SlaPolicy | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    def schedule(self, policy: SlaPolicy) -> Schedule:
        key = policy.business_hours and self.calendar is not None
        if key not in self._schedules:
            self._schedules[key] = calendar_schedule(self.calendar) if key else Schedule.around_the_clock(
                self.calendar.timezone if self.calendar else "UTC")
        return self._schedules[key]


def calendar_schedule(calendar: BusinessCalendar) -> Schedule:
    hours: dict[int, list] = {}
    for row in calendar.hours:
        hours.setdefault(row.weekday, []).append((row.start_minute, row.end_minute))
    if not hours:
        return Schedule.around_the_clock(calendar.timezone)
    return Schedule.weekly(calendar.timezone, hours, {h.day for h in calendar.holidays})


def tenant_sla(uow: UnitOfWork) -> TenantSla:
    if "setup" not in uow.sla.cache:
        uow.sla.cache["setup"] = TenantSla(calendar=uow.sla.calendar(), policies=uow.sla.policies())
    return uow.sla.cache["setup"]


def _forget(uow: UnitOfWork) -> None:
    uow.sla.cache.pop("setup", None)


def _require_admin(uow: UnitOfWork) -> None:
    user = uow.actor.user
    if uow.actor.type != "system" and (user is None or not user.has_role("admin")):
        raise PermissionDenied("Only admins change SLA policies and business hours.")


def _default_warning_percent() -> int:
    return int(current_app.config.get("SLA_WARNING_PERCENT", 80)) if has_app_context() else 80


# -- defaults ------------------------------------------------------------------------------
def create_defaults(uow: UnitOfWork, timezone: str | None = None) -> SlaPolicy:
    """A new tenant's calendar (Mon-Fri 09:00-17:00 in its time zone) and 'Standard' policy."""
    if uow.sla.calendar() is None:
        calendar = uow.sla.add_calendar(BusinessCalendar(timezone=timezone or uow.tenant.timezone or "UTC",
                                                         updated_at=utcnow()))
        calendar.hours = [BusinessHours(tenant_id=uow.tenant_id, weekday=day, start_minute=b, end_minute=e)
                          for day, intervals in DEFAULT_HOURS.items() for b, e in intervals]
        calendar.holidays = []
    policy = uow.sla.add_policy(SlaPolicy(
        name="Standard", is_default=True, business_hours=True, warning_percent=_default_warning_percent(),
        raise_priority_on_breach=False, created_at=utcnow(), updated_at=utcnow(),
        targets=[SlaTarget(priority=p, **DEFAULT_TARGETS[p]) for p in PRIORITIES],
    ))
    uow.session.flush()
    _forget(uow)
    return policy


def ensure_defaults(uow: UnitOfWork) -> TenantSla:
    """The tenant's SLA setup, creating the defaults first for a tenant made before SLAs existed."""
    setup = tenant_sla(uow)
    if not any(p.is_default for p in setup.policies):
        create_defaults(uow)
        setup = tenant_sla(uow)
    return setup


# -- policies --------------------------------------------------------------------------------
def list_policies(uow: UnitOfWork) -> list[SlaPolicy]:
    return uow.sla.policies()


def get_policy(uow: UnitOfWork, policy_id: int) -> SlaPolicy:
    return uow.sla.get_policy(policy_id)


def create_policy(uow: UnitOfWork, values: dict) -> SlaPolicy:
    _require_admin(uow)
    ensure_defaults(uow)
    clean = _validated(uow, values, existing=None)
    targets = clean.pop("targets")
    now = utcnow()
    policy = uow.sla.add_policy(SlaPolicy(**{**_policy_defaults(), **clean}, created_at=now, updated_at=now,
                                          targets=[SlaTarget(priority=p, **targets[p]) for p in PRIORITIES]))
    if policy.is_default:
        _clear_other_defaults(uow, policy)
    uow.session.flush()
    uow.audit("CREATE", "SlaPolicy", policy.id, {"after": policy_snapshot(policy)})
    _recompute_later(uow)
    return policy


def update_policy(uow: UnitOfWork, policy_id: int, values: dict) -> SlaPolicy:
    _require_admin(uow)
    policy = uow.sla.get_policy(policy_id, for_update=True)
    clean = _validated(uow, values, existing=policy)
    before = policy_snapshot(policy)
    if policy.is_default and clean.get("is_default") is False:
        raise Conflict("Make another policy the default instead: a workspace always has one.")
    targets = clean.pop("targets", None)
    for name, value in clean.items():
        setattr(policy, name, value)
    if targets:
        for target in policy.targets:
            for name, value in targets.get(target.priority, {}).items():
                setattr(target, name, value)
    if policy.is_default:
        _clear_other_defaults(uow, policy)
    after = policy_snapshot(policy)
    if after != before:
        policy.updated_at = utcnow()
        uow.session.flush()
        uow.audit("UPDATE", "SlaPolicy", policy.id, _diff(before, after))
        _recompute_later(uow)
    return policy


def delete_policy(uow: UnitOfWork, policy_id: int) -> None:
    _require_admin(uow)
    policy = uow.sla.get_policy(policy_id, for_update=True)
    if policy.is_default:
        raise Conflict("The default policy cannot be deleted: make another policy the default first.")
    snapshot = policy_snapshot(policy)
    uow.sla.delete_policy(policy)
    uow.session.flush()
    uow.audit("DELETE", "SlaPolicy", policy_id, {"before": snapshot})
    _recompute_later(uow)


def _policy_defaults() -> dict:
    return {"is_default": False, "match_tag": None, "business_hours": True,
            "warning_percent": _default_warning_percent(), "raise_priority_on_breach": False}


def _clear_other_defaults(uow: UnitOfWork, policy: SlaPolicy) -> None:
    for other in uow.sla.policies():
        if other is not policy and other.is_default:
            other.is_default = False


def _recompute_later(uow: UnitOfWork) -> None:
    _forget(uow)
    uow.enqueue_after_commit(RECOMPUTE_JOB, uow.tenant_id)


def _validated(uow: UnitOfWork, values: dict, existing: SlaPolicy | None) -> dict:
    """Check a policy's fields; errors per field, targets as ``targets.<priority>.<field>``.

    On create every priority needs a first-response and a resolution target; on
    update only the given fields are checked (and merged with the stored ones).
    """
    errors = Errors()
    clean: dict = {}
    if "name" in values or existing is None:
        name = clean_text(values.get("name"))
        check_length(errors, "name", name, required=True, maximum=120)
        taken = {p.name.lower(): p.id for p in uow.sla.policies()}
        if name and taken.get(name.lower(), None) not in (None, existing.id if existing else None):
            errors.add("name", "Another policy has this name.")
        clean["name"] = name
    if "match_tag" in values:
        tag = clean_text(values.get("match_tag")).lower().lstrip("#") or None
        if tag is not None and not TAG_RE.match(tag):
            errors.add("match_tag", "Use letters, digits, '-' or '_' (at most 50).")
        clean["match_tag"] = tag
    for flag in ("is_default", "business_hours", "raise_priority_on_breach"):
        if flag in values:
            if not isinstance(values[flag], bool):
                errors.add(flag, "Must be true or false.")
            clean[flag] = values[flag]
    if "warning_percent" in values:
        pct = values["warning_percent"]
        if not isinstance(pct, int) or isinstance(pct, bool) or not 1 <= pct <= 99:
            errors.add("warning_percent", "Must be a whole number from 1 to 99.")
        clean["warning_percent"] = pct
    if "targets" in values or existing is None:
        clean["targets"] = _validated_targets(errors, values.get("targets") or {}, existing)
    errors.raise_if_any()
    return clean


def _validated_targets(errors: Errors, given: dict, existing: SlaPolicy | None) -> dict:
    if not isinstance(given, dict):
        errors.add("targets", "Give targets per priority.")
        return {}
    for priority in given:
        if priority not in PRIORITIES:
            errors.add(f"targets.{priority}", f"Unknown priority; use: {', '.join(PRIORITIES)}.")
    out: dict = {}
    for priority in PRIORITIES:
        stored = existing.target(priority) if existing else None
        row = given.get(priority) or {}
        if not isinstance(row, dict):
            errors.add(f"targets.{priority}", "Give the targets of this priority as an object.")
            continue
        merged = {name: row[name] if name in row else (getattr(stored, name) if stored else None)
                  for name in TARGET_FIELDS}
        for name in TARGET_FIELDS:
            value, where = merged[name], f"targets.{priority}.{name}"
            if value is None:
                if name != "next_reply_minutes":
                    errors.add(where, "This target is required.")
            elif not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TARGET:
                errors.add(where, f"Must be a whole number of minutes from 1 to {MAX_TARGET}.")
        fr, res = merged["first_response_minutes"], merged["resolution_minutes"]
        if isinstance(fr, int) and isinstance(res, int) and res < fr:
            errors.add(f"targets.{priority}.resolution_minutes", "Must not be shorter than the first-response target.")
        if priority in given:
            out[priority] = {k: v for k, v in merged.items()}
        elif existing is None:
            out[priority] = merged
    return out


def policy_snapshot(policy: SlaPolicy) -> dict:
    return {
        "name": policy.name, "is_default": policy.is_default, "match_tag": policy.match_tag,
        "business_hours": policy.business_hours, "warning_percent": policy.warning_percent,
        "raise_priority_on_breach": policy.raise_priority_on_breach,
        "targets": {t.priority: {name: getattr(t, name) for name in TARGET_FIELDS} for t in policy.targets},
    }


def _diff(before: dict, after: dict) -> dict:
    changed = [k for k in after if after[k] != before.get(k)]
    return {"before": {k: before.get(k) for k in changed}, "after": {k: after[k] for k in changed}}


# -- the business calendar --------------------------------------------------------------------
@dataclass
class CalendarView:
    timezone: str
    week: list[tuple[str, str]]  # (weekday name, "09:00-12:00, 13:00-17:00")
    holidays: list[Holiday]


def calendar_view(uow: UnitOfWork) -> CalendarView:
    calendar = uow.sla.calendar()
    if calendar is None:
        hours = {d: DEFAULT_HOURS.get(d, []) for d in range(7)}
        return CalendarView(uow.tenant.timezone, [(WEEKDAYS[d], format_intervals(hours[d])) for d in range(7)], [])
    by_day: dict[int, list] = {d: [] for d in range(7)}
    for row in calendar.hours:
        by_day[row.weekday].append((row.start_minute, row.end_minute))
    return CalendarView(calendar.timezone, [(WEEKDAYS[d], format_intervals(by_day[d])) for d in range(7)],
                        list(calendar.holidays))


def update_calendar(uow: UnitOfWork, *, timezone: str, week: dict[int, list], holidays: list[tuple[date, str]]) -> None:
    """Replace the tenant's time zone, weekly hours (weekday → intervals) and holidays."""
    _require_admin(uow)
    errors = Errors()
    try:
        ZoneInfo(timezone or "")
    except (ZoneInfoNotFoundError, ValueError):
        errors.add("timezone", "Unknown time zone.")
    merged: dict[int, list] = {}
    for day in range(7):
        try:
            merged[day] = merge_intervals(week.get(day, []))
        except ValueError:
            errors.add(f"week.{day}", "Opening hours must lie within the day and end after they start.")
    if not any(merged.values()):
        errors.add("week", "Open at least one interval a week (or use round-the-clock targets in the policy).")
    seen: set[date] = set()
    for day, name in holidays:
        if day in seen:
            errors.add("holidays", f"{day.isoformat()} is listed twice.")
        seen.add(day)
        if len(name or "") > 120:
            errors.add("holidays", "Holiday names are at most 120 characters.")
    errors.raise_if_any()

    ensure_defaults(uow)
    calendar = uow.sla.calendar()
    before = _calendar_snapshot(calendar)
    calendar.timezone = timezone
    calendar.hours, calendar.holidays = [], []
    uow.session.flush()  # old rows go first: a holiday kept on the same day must not clash with itself
    calendar.hours = [BusinessHours(tenant_id=uow.tenant_id, weekday=d, start_minute=b, end_minute=e)
                      for d in range(7) for b, e in merged[d]]
    calendar.holidays = [Holiday(tenant_id=uow.tenant_id, day=d, name=(n or "").strip()) for d, n in sorted(holidays)]
    after = _calendar_snapshot(calendar)
    if after != before:
        calendar.updated_at = utcnow()
        uow.session.flush()
        uow.audit("UPDATE", "BusinessCalendar", calendar.id, _diff(before, after))
        _recompute_later(uow)


def _calendar_snapshot(calendar: BusinessCalendar) -> dict:
    by_day: dict[int, list] = {}
    for row in calendar.hours:
        by_day.setdefault(row.weekday, []).append((row.start_minute, row.end_minute))
    return {"timezone": calendar.timezone,
            "week": {WEEKDAYS[d]: format_intervals(sorted(v)) for d, v in sorted(by_day.items())},
            "holidays": [f"{h.day.isoformat()} {h.name}".strip() for h in sorted(calendar.holidays, key=lambda h: h.day)]}
