"""/webhooks: admins manage endpoints and watch deliveries (log, detail, Retry, Retry all dead, test event)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from wtforms import BooleanField, SelectMultipleField, StringField

from app.errors import Conflict, ValidationFailed
from app.models.base import utcnow
from app.models.webhooks import ALL_EVENTS, DELIVERY_STATUSES, EVENT_TYPES
from app.services.webhooks import deliveries, endpoints, metrics
from app.services.webhooks.settings import current_settings
from app.web.context import page_uow
from app.web.forms import ConfirmForm, attach_errors, confirmed_change, options
from app.web.session import role_required

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

PAGE_SIZE = 25
ID = "int(min=1, max=2147483647)"  # ids beyond a 32-bit integer cannot exist: 404, not an overflow
EVENT_CHOICES = options([(ALL_EVENTS, "All events, including ones added later")] + [(e, e) for e in EVENT_TYPES])


class EndpointForm(FlaskForm):
    """Rules (URL safety, known events) live in the endpoint service; the form carries values."""

    url = StringField("Endpoint URL",
                      description="Ticketry POSTs signed JSON here: an http:// or https:// URL of a public address.")
    description = StringField("Description")
    events = SelectMultipleField("Events", choices=EVENT_CHOICES, validate_choice=False)
    active = BooleanField("Active: send deliveries to this endpoint", default=True)


def _change(change, ok: str) -> bool:
    """Run a change in the page's unit of work; flash what happened."""
    try:
        with page_uow() as uow:
            change(uow)
            uow.commit()
    except (ValidationFailed, Conflict) as exc:
        flash(str(exc), "error")
        return False
    flash(ok, "success")
    return True


# -- endpoints ---------------------------------------------------------------------------
@bp.route("", methods=["GET", "POST"])
@role_required("admin")
def index():
    form, status, created = EndpointForm(), 200, None
    if request.method == "POST":
        if form.validate():
            try:
                with page_uow() as uow:
                    created = endpoints.create_endpoint(uow, url=form.url.data, events=form.events.data,
                                                        description=form.description.data or "",
                                                        active=form.active.data)
                    uow.commit()
            except ValidationFailed as exc:
                attach_errors(form, exc)
        if created is None:
            status = 422
        else:
            form = EndpointForm(formdata=None)
    # A new secret is in this response only: never stored in the session or flashed.
    return render_template("webhooks/index.html", health=metrics.endpoint_health(page_uow()), form=form,
                           new_endpoint=created[0] if created else None,
                           new_secret=created[1] if created else None,
                           schedule=current_settings().schedule_text), status


@bp.route(f"/<{ID}:endpoint_id>", methods=["GET", "POST"])
@role_required("admin")
def show(endpoint_id: int):
    endpoint = endpoints.get_endpoint(page_uow(), endpoint_id)
    if request.method == "GET":
        return render_template("webhooks/show.html", **_settings_context(endpoint, _filled_form(endpoint)))
    form = EndpointForm()
    if form.validate():
        try:
            with page_uow() as uow:
                endpoints.update_endpoint(uow, endpoint_id, {
                    "url": form.url.data, "events": form.events.data,
                    "description": form.description.data or "", "active": form.active.data})
                uow.commit()
        except ValidationFailed as exc:
            attach_errors(form, exc)
        else:
            flash("Webhook saved.", "success")
            return redirect(url_for("webhooks.show", endpoint_id=endpoint_id))
    return render_template("webhooks/show.html", **_settings_context(endpoint, form)), 422


@bp.post(f"/<{ID}:endpoint_id>/rotate-secret")
@role_required("admin")
def rotate_secret(endpoint_id: int):
    if not ConfirmForm().validate():
        return redirect(url_for("webhooks.show", endpoint_id=endpoint_id))
    with page_uow() as uow:
        endpoint, secret = endpoints.rotate_secret(uow, endpoint_id)
        uow.commit()
    return render_template("webhooks/show.html", **_settings_context(endpoint, _filled_form(endpoint),
                                                                     new_secret=secret))


@bp.post(f"/<{ID}:endpoint_id>/delete")
@role_required("admin")
def delete(endpoint_id: int):
    if ConfirmForm().validate() and _change(lambda uow: endpoints.delete_endpoint(uow, endpoint_id),
                                            "Webhook deleted, with its delivery log."):
        return redirect(url_for("webhooks.index"))
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id))


@bp.post(f"/<{ID}:endpoint_id>/test")
@role_required("admin")
def send_test(endpoint_id: int):
    _, error, status = confirmed_change(lambda uow: deliveries.send_test_event(uow, endpoint_id))
    message = error or "Test event queued: it appears in the delivery log."
    if request.htmx:
        return render_template("webhooks/_action_result.html", message=message, ok=status == 200,
                               result_id=f"test-{endpoint_id}"), status
    flash(message, "success" if status == 200 else "error")
    return redirect(url_for("webhooks.deliveries_log", endpoint_id=endpoint_id))


def _filled_form(endpoint) -> EndpointForm:
    return EndpointForm(formdata=None, data={"url": endpoint.url, "description": endpoint.description,
                                             "events": endpoint.events, "active": endpoint.active})


def _settings_context(endpoint, form, **extra) -> dict:
    return dict(endpoint=endpoint, form=form, confirm=ConfirmForm(), now=utcnow(), **extra)


# -- deliveries ------------------------------------------------------------------------------
def _log_context(endpoint_id: int, **extra) -> dict:
    reader = page_uow()
    endpoint = endpoints.get_endpoint(reader, endpoint_id)
    status = request.args.get("status") if request.args.get("status") in DELIVERY_STATUSES else ""
    event = (request.args.get("event") or "").strip()[:64]
    page = deliveries.list_deliveries(reader, endpoint_id, status=status, event_type=event,
                                      page=max(1, request.args.get("page", 1, type=int)), limit=PAGE_SIZE)
    return dict(endpoint=endpoint, page=page, status=status, event=event, statuses=DELIVERY_STATUSES,
                event_types=sorted(set(EVENT_TYPES) | set(deliveries.event_types_seen(reader, endpoint_id))),
                dead=endpoints.repository(reader).count_dead(endpoint_id), confirm=ConfirmForm(), **extra)


@bp.get(f"/<{ID}:endpoint_id>/deliveries")
@role_required("admin")
def deliveries_log(endpoint_id: int):
    context = _log_context(endpoint_id)
    if request.htmx and request.htmx.target == "deliveries-live":
        return render_block("webhooks/deliveries.html", "live", **context)
    return render_template("webhooks/deliveries.html", **context)


@bp.get(f"/<{ID}:endpoint_id>/deliveries/<{ID}:delivery_id>")
@role_required("admin")
def delivery(endpoint_id: int, delivery_id: int):
    reader = page_uow()
    endpoint = endpoints.get_endpoint(reader, endpoint_id)
    row, attempts = deliveries.get_delivery(reader, endpoint_id, delivery_id)
    return render_template("webhooks/delivery.html", endpoint=endpoint, d=row, attempts=attempts,
                           body=deliveries.request_body(row), confirm=ConfirmForm())


@bp.post(f"/<{ID}:endpoint_id>/deliveries/<{ID}:delivery_id>/retry")
@role_required("admin")
def retry(endpoint_id: int, delivery_id: int):
    _, message, status = confirmed_change(lambda uow: deliveries.retry_delivery(uow, endpoint_id, delivery_id))
    if request.htmx:
        row, _ = deliveries.get_delivery(page_uow(), endpoint_id, delivery_id)
        return render_template("webhooks/_delivery_row.html", d=row, endpoint_id=endpoint_id,
                               confirm=ConfirmForm(), row_message=message or "Queued again."), status
    flash(message or "Delivery queued again.", "error" if message else "success")
    if request.form.get("back") == "detail":
        return redirect(url_for("webhooks.delivery", endpoint_id=endpoint_id, delivery_id=delivery_id))
    return redirect(url_for("webhooks.deliveries_log", endpoint_id=endpoint_id))


@bp.post(f"/<{ID}:endpoint_id>/deliveries/retry-dead")
@role_required("admin")
def retry_dead(endpoint_id: int):
    result, error, _ = confirmed_change(lambda uow: deliveries.retry_dead(uow, endpoint_id))
    ok = error is None
    if ok:
        requeued, left = result
        message = f"{requeued} dead deliveries queued again." + (f" {left} left: retry again." if left else "")
    else:
        message = error
    if request.htmx:
        return render_block("webhooks/deliveries.html", "live", **_log_context(endpoint_id, message=message, ok=ok))
    flash(message, "success" if ok else "error")
    return redirect(url_for("webhooks.deliveries_log", endpoint_id=endpoint_id))
