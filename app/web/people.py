"""Admins manage their workspace's people and API tokens."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.errors import Conflict, ValidationFailed
from app.services import people as people_service
from app.web.context import page_uow
from app.web.forms import ConfirmForm, PersonForm, RoleForm, TokenForm
from app.web.session import role_required

bp = Blueprint("people", __name__, url_prefix="/admin/people")


@bp.route("", methods=["GET", "POST"])
@role_required("admin")
def index():
    form = PersonForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                with page_uow() as uow:
                    person = people_service.create_user(uow, email=form.email.data, name=form.name.data,
                                                        role=form.role.data, password=form.password.data)
                    uow.commit()
            except ValidationFailed as exc:
                for name, messages in exc.errors.items():
                    getattr(form, name).errors = list(getattr(form, name).errors) + messages
            else:
                flash(f"{person.name} can now sign in.", "success")
                return redirect(url_for("people.index"))
        status = 422
    page = page_uow().users.list(request.args.get("page", 1, type=int), 50)
    return render_template("people/index.html", page=page, form=form), status


@bp.get("/<int:user_id>")
@role_required("admin")
def show(user_id: int):
    return render_template("people/show.html", **_person_context(user_id))


@bp.post("/<int:user_id>/role")
@role_required("admin")
def set_role(user_id: int):
    form = RoleForm()
    if form.validate():
        _apply(lambda uow: people_service.set_role(uow, user_id, form.role.data), "Role updated.")
    return redirect(url_for("people.show", user_id=user_id))


@bp.post("/<int:user_id>/active")
@role_required("admin")
def set_active(user_id: int):
    if ConfirmForm().validate():
        active = request.form.get("active") == "1"
        _apply(lambda uow: people_service.set_active(uow, user_id, active),
               "Reactivated." if active else "Deactivated: their sessions and tokens no longer work.")
    return redirect(url_for("people.show", user_id=user_id))


@bp.post("/<int:user_id>/tokens")
@role_required("admin")
def create_token(user_id: int):
    form = TokenForm()
    if not form.validate():
        return render_template("people/show.html", **_person_context(user_id, token_form=form)), 422
    try:
        with page_uow() as uow:
            token, secret = people_service.create_token(uow, user_id, form.name.data)
            uow.commit()
    except (ValidationFailed, Conflict) as exc:
        flash(str(exc), "error")
        return redirect(url_for("people.show", user_id=user_id))
    # The secret is in this response only: never stored, never flashed into the cookie.
    return render_template("people/show.html", **_person_context(user_id, new_secret=secret, new_token=token))


@bp.post("/<int:user_id>/tokens/<int:token_id>/revoke")
@role_required("admin")
def revoke_token(user_id: int, token_id: int):
    if ConfirmForm().validate():
        _apply(lambda uow: people_service.revoke_token(uow, token_id, user_id), "Token revoked.")
    return redirect(url_for("people.show", user_id=user_id))


def _apply(change, message: str) -> None:
    try:
        with page_uow() as uow:
            change(uow)
            uow.commit()
    except (ValidationFailed, Conflict) as exc:
        flash(str(exc), "error")
    else:
        flash(message, "success")


def _person_context(user_id: int, **extra) -> dict:
    uow = page_uow()
    person = uow.users.get(user_id)
    tokens = [t for t in uow.tokens.for_user(person.id)]
    context = dict(person=person, tokens=tokens, role_form=RoleForm(role=person.role),
                   token_form=TokenForm(formdata=None), confirm=ConfirmForm())
    context.update(extra)
    return context
