"""WTForms for every page form; CSRF comes with FlaskForm."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.errors import Conflict
from app.models.tenancy import ROLES
from app.models.tickets import PRIORITIES, STATUSES


def options(pairs) -> list[SelectChoice]:
    """A select's or radio group's choices from (value, label) pairs: WTForms 3.3 deprecates plain tuples
    and 3.4 refuses them."""
    return [SelectChoice(value, label) for value, label in pairs]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    workspace = StringField("Workspace", validators=[Optional(), Length(max=63)],
                            description="Only needed when your email belongs to several workspaces.")
    next = HiddenField()


class TicketForm(FlaskForm):
    """Rules (required, formats, lengths) live in the ticket service; the form only carries values."""

    subject = StringField("Subject")
    description = TextAreaField("Description", description="Markdown is supported.")
    requester_name = StringField("Requester name")
    requester_email = EmailField("Requester email")
    priority = SelectField("Priority", choices=options((p, p.capitalize()) for p in PRIORITIES), default="normal",
                           validate_choice=False)
    assignee_id = SelectField("Assignee", choices=[], validate_choice=False)
    tags = StringField("Tags", description="Separate tags with commas.")


class CommentForm(FlaskForm):
    kind = RadioField("Reply type", choices=options([("public", "Public reply"), ("internal", "Internal note")]),
                      default="public")
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=50_000)],
                         description="Markdown is supported. Public replies are seen by the requester.")

    @property
    def public(self) -> bool:
        return self.kind.data != "internal"


class TicketFieldsForm(FlaskForm):
    """The side panel: any subset of these may be sent."""

    status = SelectField("Status", choices=options((s, s) for s in STATUSES), validate_choice=False)
    priority = SelectField("Priority", choices=options((p, p) for p in PRIORITIES), validate_choice=False)
    assignee_id = SelectField("Assignee", choices=[], validate_choice=False)
    tags = StringField("Tags", validators=[Optional(), Length(max=1000)])


class PersonForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=options((r, r.capitalize()) for r in ROLES), default="agent")
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=10, max=1024)])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=options((r, r.capitalize()) for r in ROLES))


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=120)])


class ConfirmForm(FlaskForm):
    """An empty form: a button that posts with a CSRF token."""


def attach_errors(form: FlaskForm, exc) -> None:
    """Show a service's ValidationFailed on the form: each message under its field, the rest on top."""
    for name, messages in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + messages
        else:
            form.form_errors.extend(messages)


FORM_EXPIRED = "The form expired: reload the page."


def confirmed_change(change):
    """A button's change: ``change(uow)`` in the page's unit of work, once the button's form (CSRF
    token) checks out. Returns (what ``change`` returned, an error message or None, HTTP status)."""
    from app.web.context import page_uow

    if not ConfirmForm().validate():
        return None, FORM_EXPIRED, 400
    try:
        with page_uow() as uow:
            result = change(uow)
            uow.commit()
    except Conflict as exc:
        return None, str(exc), 409
    return result, None, 200
