"""/sla: the SLA dashboard for leads and admins; /settings/sla: policies and business hours for admins."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from jinja2_fragments.flask import render_block

from app.errors import Conflict, ValidationFailed
from app.models.tickets import PRIORITIES
from app.repositories.unit_of_work import UnitOfWork
from app.services.sla import clocks, policies, reports
from app.services.sla.calendar import parse_intervals
from app.web.context import page_uow
from app.web.forms import ConfirmForm
from app.web.session import role_required
from app.web.sla_chart import trend_chart
from app.web.sla_forms import TARGET_INPUTS, CalendarForm, PolicyForm

bp = Blueprint("sla", __name__)

STATE_LABELS = {"ok": "On track", "at_risk": "At risk", "breached": "Breached", "paused": "Paused",
                "done": "Done", "none": "No SLA"}
CLOCK_LABELS = {"first_response": "First response", "next_reply": "Next reply", "resolution": "Resolution"}


# -- shown on every page that lists tickets ---------------------------------------------------
@dataclass(frozen=True)
class SlaStatus:
    state: str
    label: str
    detail: str  # "2 h 10 min left", "overdue 35 min", ""


def duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes = abs(int(seconds)) // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def minutes_label(minutes: int | None) -> str:
    return "—" if minutes is None else duration(int(minutes) * 60) or "0 min"


def _clock(ticket, now) -> tuple[str, int | None, bool]:
    """The ticket's live SLA state, the whole minutes left or overdue (None: nothing to count), overdue."""
    state = clocks.live_state(ticket, now)
    if state in ("ok", "at_risk", "breached") and ticket.sla_due_at is not None:
        seconds = int((ticket.sla_due_at - now).total_seconds())
        return state, abs(seconds) // 60, seconds < 0
    return state, None, False


def _detail(minutes: int | None, overdue: bool) -> str:
    """"2 h 10 min left", "overdue 35 min", or "" with nothing to count."""
    if minutes is None:
        return ""
    left = duration(minutes * 60)
    return f"overdue {left}" if overdue else f"{left} left"


@bp.app_template_global()
def sla_status(ticket, now=None) -> SlaStatus:
    """The ticket's SLA state and what is left, at ``now`` (a list passes the time it read once)."""
    from app.models.base import utcnow

    state, minutes, overdue = _clock(ticket, now or utcnow())
    return SlaStatus(state, STATE_LABELS.get(state, state), _detail(minutes, overdue))


_NO_SLA = Markup('<span class="muted small">—</span>')


@bp.app_template_global()
def sla_badge(ticket, now=None) -> Markup:
    """The SLA badge of a ticket in a list ("At risk" + "2 h left"). A function rather than a macro: the
    queue draws one per row, and a macro call cost five times as much. The badge is a function of what
    ``sla_status`` says (the state and the whole minutes left or overdue), so it is drawn once per such
    answer and kept (the same row drawn again within the minute, or a colleague's row in the same state
    and minute, is a lookup). Every value is escaped."""
    from app.models.base import utcnow

    return _badge(*_clock(ticket, now or utcnow()))


@lru_cache(maxsize=4096)
def _badge(state: str, minutes: int | None, overdue: bool) -> Markup:
    if state == "none":
        return _NO_SLA
    badge = f'<span class="sla sla-{escape(state)}">{escape(STATE_LABELS.get(state, state))}</span>'
    detail = _detail(minutes, overdue)
    if detail:
        badge += f'<span class="sla-left">{escape(detail)}</span>'
    return Markup(badge)


@bp.app_template_global()
def sla_clocks(ticket):
    return clocks.clock_views(ticket)


@bp.app_template_filter("sla_duration")
def sla_duration(seconds):
    return duration(seconds)


@bp.app_template_filter("sla_minutes")
def sla_minutes(minutes):
    return minutes_label(minutes)


@bp.app_template_global()
def sla_clock_label(name: str) -> str:
    return CLOCK_LABELS.get(name, name)


# -- the dashboard ---------------------------------------------------------------------------
@bp.get("/sla")
@role_required("lead")
def dashboard():
    form = {"from": request.args.get("from", "").strip()[:10], "to": request.args.get("to", "").strip()[:10]}
    errors, summary, chart = {}, None, None
    try:
        start, end = reports.parse_range(form["from"], form["to"], current_user.tenant.timezone or "UTC")
    except ValidationFailed as exc:
        errors = exc.errors
    else:
        form = {"from": start.isoformat(), "to": end.isoformat()}
        summary = reports.sla_summary(page_uow(), start, end)
        chart = trend_chart(summary.days)
    context = dict(form=form, errors=errors, summary=summary, chart=chart, minutes=minutes_label)
    status = 422 if errors else 200
    if request.htmx and request.htmx.target == "sla-results":
        return render_block("sla/dashboard.html", "results", **context), status
    return render_template("sla/dashboard.html", **context), status


# -- settings: policies and business hours ---------------------------------------------------------
@bp.get("/settings/sla")
@role_required("admin")
def settings():
    uow = page_uow()
    view = policies.calendar_view(uow)
    form = CalendarForm(formdata=None, timezone=view.timezone,
                        holidays="\n".join(f"{h.day.isoformat()} {h.name}".strip() for h in view.holidays),
                        **{f"day_{i}": text for i, (_, text) in enumerate(view.week)})
    return _settings_page(uow, form)


def _settings_page(uow: UnitOfWork, calendar_form: CalendarForm, status: int = 200):
    return render_template("sla/settings.html", policies=policies.list_policies(uow), calendar_form=calendar_form,
                           confirm=ConfirmForm()), status


@bp.post("/settings/sla/calendar")
@role_required("admin")
def save_calendar():
    form = CalendarForm()
    week, holidays = {}, []
    if form.validate():
        for day in range(7):
            field = getattr(form, f"day_{day}")
            try:
                week[day] = parse_intervals(field.data or "")
            except ValueError as exc:
                field.errors = [str(exc)]
        holidays = _parse_holidays(form)
    if not form.errors and not any(getattr(form, f"day_{d}").errors for d in range(7)):
        try:
            with page_uow() as uow:
                policies.update_calendar(uow, timezone=(form.timezone.data or "").strip(), week=week,
                                         holidays=holidays)
                uow.commit()
        except ValidationFailed as exc:
            for name, messages in exc.errors.items():
                field = getattr(form, {"week": "day_0"}.get(name, name.replace("week.", "day_")), None)
                if field is not None:
                    field.errors = list(field.errors) + messages
        else:
            flash("Business hours saved. Open tickets' deadlines are being recalculated.", "success")
            return redirect(url_for("sla.settings"))
    return _settings_page(page_uow(), form, 422)


def _parse_holidays(form: CalendarForm) -> list[tuple[date, str]]:
    holidays, bad = [], []
    for line in (form.holidays.data or "").splitlines():
        line = line.strip()
        if not line:
            continue
        day, _, name = line.partition(" ")
        try:
            holidays.append((date.fromisoformat(day), name.strip()))
        except ValueError:
            bad.append(day)
    if bad:
        form.holidays.errors = [f"Not a date: {', '.join(bad[:5])}. Start each line with YYYY-MM-DD."]
    return holidays


@bp.route("/settings/sla/policies/new", methods=["GET", "POST"])
@role_required("admin")
def new_policy():
    form = PolicyForm() if request.method == "POST" else PolicyForm(formdata=None, business_hours=True,
                                                                      warning_percent=80)
    if request.method == "GET":
        _fill_targets(form, policies.DEFAULT_TARGETS)
        return render_template("sla/policy.html", form=form, policy=None)
    if form.validate():
        try:
            with page_uow() as uow:
                policy = policies.create_policy(uow, _policy_values(form))
                uow.commit()
        except ValidationFailed as exc:
            _attach_policy_errors(form, exc)
        else:
            flash(f"Policy {policy.name} created.", "success")
            return redirect(url_for("sla.settings"))
    return render_template("sla/policy.html", form=form, policy=None), 422


@bp.route("/settings/sla/policies/<int:policy_id>", methods=["GET", "POST"])
@role_required("admin")
def edit_policy(policy_id: int):
    policy = policies.get_policy(page_uow(), policy_id)
    if request.method == "GET":
        form = PolicyForm(formdata=None, obj=policy)
        _fill_targets(form, {t.priority: {n: getattr(t, n) for n, _, _ in TARGET_INPUTS} for t in policy.targets})
        return render_template("sla/policy.html", form=form, policy=policy)
    form = PolicyForm()
    status = 422
    if form.validate():
        try:
            with page_uow() as uow:
                policies.update_policy(uow, policy_id, _policy_values(form))
                uow.commit()
        except ValidationFailed as exc:
            _attach_policy_errors(form, exc)
        except Conflict as exc:
            form.form_errors.append(str(exc))
            status = 409
        else:
            flash("Policy saved. Open tickets' deadlines are being recalculated.", "success")
            return redirect(url_for("sla.settings"))
    return render_template("sla/policy.html", form=form, policy=policy), status


@bp.post("/settings/sla/policies/<int:policy_id>/delete")
@role_required("admin")
def delete_policy(policy_id: int):
    if ConfirmForm().validate():
        try:
            with page_uow() as uow:
                policies.delete_policy(uow, policy_id)
                uow.commit()
        except Conflict as exc:
            flash(str(exc), "error")
        else:
            flash("Policy deleted.", "success")
    return redirect(url_for("sla.settings"))


def _fill_targets(form: PolicyForm, targets: dict) -> None:
    for priority in PRIORITIES:
        for name, short, _ in TARGET_INPUTS:
            getattr(form, f"{short}_{priority}").data = targets.get(priority, {}).get(name)


def _policy_values(form: PolicyForm) -> dict:
    return {"name": form.name.data, "match_tag": form.match_tag.data, "is_default": form.is_default.data,
            "business_hours": form.business_hours.data, "warning_percent": form.warning_percent.data or 80,
            "raise_priority_on_breach": form.raise_priority_on_breach.data, "targets": form.targets()}


def _attach_policy_errors(form: PolicyForm, exc: ValidationFailed) -> None:
    """Like forms.attach_errors, but a target's message goes to its minutes input."""
    for name, messages in exc.errors.items():
        field = form.target_field(name)
        if field is not None:
            field.errors = list(field.errors) + messages
        else:
            form.form_errors.extend(messages)
