"""Forms of the macro settings pages and the ticket page's reply box (rules live in the services)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from app.services.macros import MACRO_STATUSES, PLACEHOLDERS
from app.web.forms import CommentForm, options


class MacroForm(FlaskForm):
    name = StringField("Name")
    body = TextAreaField("Reply text", description="Placeholders: " + ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
                         + ". They are replaced by plain text when the macro is inserted.")
    set_status = SelectField("Set status when sent", validate_choice=False,
                             choices=options([("", "Leave unchanged")] + [(s, s.replace("_", " ").capitalize())
                                                                          for s in MACRO_STATUSES]))
    add_tags = StringField("Add tags when sent", description="Separate tags with commas; existing tags stay.")

    def values(self) -> dict:
        return {"name": self.name.data, "body": self.body.data, "set_status": self.set_status.data,
                "add_tags": self.add_tags.data}


class ReplyForm(CommentForm):
    """The reply box: the comment, the newest comment id the page showed, and the macro whose actions apply."""

    seen_comment_id = HiddenField()
    macro_id = HiddenField()

    @staticmethod
    def _id(value) -> int | None:
        value = (value or "").strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None

    @property
    def seen_id(self) -> int | None:
        return self._id(self.seen_comment_id.data)

    @property
    def macro(self) -> int | None:
        return self._id(self.macro_id.data)
