"""Forms of the SLA settings page: a policy with its targets, and the business calendar."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional

from app.models.tickets import PRIORITIES
from app.services.sla.policies import WEEKDAYS

TARGET_INPUTS = (("first_response_minutes", "fr", "First response"), ("next_reply_minutes", "nr", "Next reply"),
                 ("resolution_minutes", "res", "Resolution"))


class PolicyForm(FlaskForm):
    """Rules live in the SLA service; fields only carry values (IntegerField refuses non-numbers)."""

    name = StringField("Name")
    match_tag = StringField("Applies to tickets tagged", description="Leave empty for a policy used only as default.")
    is_default = BooleanField("Default policy", description="Tickets without a matching tag follow it.")
    business_hours = BooleanField("Count business hours only",
                                  description="Unticked: targets count around the clock (24/7).")
    warning_percent = IntegerField("At risk after (% of target)", validators=[Optional(), NumberRange(1, 99)])
    raise_priority_on_breach = BooleanField("Raise the priority of a breached ticket one step")

    def targets(self) -> dict:
        out = {}
        for priority in PRIORITIES:
            out[priority] = {name: getattr(self, f"{short}_{priority}").data for name, short, _ in TARGET_INPUTS}
        return out

    def target_field(self, service_name: str):
        """The input of a service error key like ``targets.high.resolution_minutes``."""
        parts = service_name.split(".")
        if len(parts) == 3 and parts[0] == "targets":
            short = {name: s for name, s, _ in TARGET_INPUTS}.get(parts[2])
            return getattr(self, f"{short}_{parts[1]}", None)
        return getattr(self, service_name, None)


for _priority in PRIORITIES:
    for _name, _short, _label in TARGET_INPUTS:
        setattr(PolicyForm, f"{_short}_{_priority}",
                IntegerField(f"{_label} ({_priority})", validators=[Optional()]))


class CalendarForm(FlaskForm):
    timezone = StringField("Time zone", description="An IANA name, e.g. Europe/Paris or America/New_York.")
    holidays = TextAreaField("Holidays", description="One per line: a date, then an optional name "
                                                     "(2025-12-25 Christmas). Holidays are closed all day.")


for _day, _weekday in enumerate(WEEKDAYS):
    setattr(CalendarForm, f"day_{_day}", StringField(_weekday, description="e.g. 09:00-12:00, 13:00-17:00; "
                                                                            "empty when closed."))
