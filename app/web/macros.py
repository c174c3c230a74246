"""/settings/macros: canned replies for leads and admins; /tickets/<n>/macro: a macro rendered for a ticket."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from app.errors import ValidationFailed
from app.services import macros as macro_service
from app.web.context import page_uow
from app.web.forms import ConfirmForm, attach_errors
from app.web.macro_forms import MacroForm, ReplyForm
from app.web.session import role_required

bp = Blueprint("macros", __name__)


@bp.get("/settings/macros")
@role_required("lead")
def index():
    return render_template("macros_settings/index.html", macros=macro_service.list_macros(page_uow()),
                           confirm=ConfirmForm(), placeholders=macro_service.PLACEHOLDERS)


@bp.route("/settings/macros/new", methods=["GET", "POST"])
@role_required("lead")
def new():
    form = MacroForm() if request.method == "POST" else MacroForm(formdata=None)
    if request.method == "GET":
        return render_template("macros_settings/form.html", form=form, macro=None)
    if form.validate():
        try:
            with page_uow() as uow:
                macro = macro_service.create_macro(uow, form.values())
                uow.commit()
        except ValidationFailed as exc:
            attach_errors(form, exc)
        else:
            flash(f"Macro {macro.name} created.", "success")
            return redirect(url_for("macros.index"))
    return render_template("macros_settings/form.html", form=form, macro=None), 422


@bp.route("/settings/macros/<int:macro_id>", methods=["GET", "POST"])
@role_required("lead")
def edit(macro_id: int):
    macro = macro_service.get_macro(page_uow(), macro_id)
    if request.method == "GET":
        form = MacroForm(formdata=None, obj=macro, add_tags=", ".join(macro.tags), set_status=macro.set_status or "")
        return render_template("macros_settings/form.html", form=form, macro=macro)
    form = MacroForm()
    if form.validate():
        try:
            with page_uow() as uow:
                macro_service.update_macro(uow, macro_id, form.values())
                uow.commit()
        except ValidationFailed as exc:
            attach_errors(form, exc)
        else:
            flash("Macro saved.", "success")
            return redirect(url_for("macros.index"))
    return render_template("macros_settings/form.html", form=form, macro=macro), 422


@bp.post("/settings/macros/<int:macro_id>/delete")
@role_required("lead")
def delete(macro_id: int):
    if ConfirmForm().validate():
        with page_uow() as uow:
            macro_service.delete_macro(uow, macro_id)
            uow.commit()
        flash("Macro deleted.", "success")
    return redirect(url_for("macros.index"))


@bp.get("/tickets/<int:number>/macro")
@login_required
def insert(number: int):
    """The macro chosen in the reply box, rendered for this ticket: htmx gets the text to insert (plain
    text, escaped in the fragment); without htmx the ticket page opens with the reply box filled."""
    macro_id = ReplyForm._id(request.args.get("macro"))
    if macro_id is None:
        if not request.htmx:
            return redirect(url_for("tickets.show", number=number))
        return render_template("tickets/_macro_note.html", macro=None, text=None,
                               message="Choose a macro first."), 422
    if not request.htmx:
        return redirect(url_for("tickets.show", number=number, macro=macro_id) + "#reply-box")
    macro, text = macro_service.render_for_ticket(page_uow(), number, macro_id)
    return render_template("tickets/_macro_note.html", macro=macro, text=text, message=None)


