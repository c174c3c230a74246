"""/admin/jobs: queue depth, outbox backlog, recent executions, Retry for failed jobs."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block

from app.errors import Conflict
from app.models.jobs import JOB_STATES
from app.services import jobs as job_service
from app.services.queue_stats import queue_stats
from app.web.forms import ConfirmForm
from app.web.session import role_required

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.get("")
@role_required("admin")
def index():
    tenant_id = current_user.tenant_id
    state = request.args.get("state") if request.args.get("state") in JOB_STATES else None
    task = request.args.get("task") or None
    context = dict(
        stats=queue_stats(tenant_id),
        page=job_service.executions(tenant_id, state=state, task=task,
                                    page=request.args.get("page", 1, type=int), limit=25),
        task_names=job_service.task_names(tenant_id),
        states=JOB_STATES, state=state or "", task=task or "", confirm=ConfirmForm(),
    )
    if request.htmx:
        return render_block("jobs/index.html", "live", **context)
    return render_template("jobs/index.html", **context)


@bp.post("/<int:execution_id>/retry")
@role_required("admin")
def retry(execution_id: int):
    if not ConfirmForm().validate():
        return redirect(url_for("jobs.index"))
    try:
        row = job_service.retry_job(current_user.tenant_id, execution_id)
    except Conflict as exc:
        message, ok = str(exc), False
    else:
        message, ok = f"Job {row.task_name} is queued again.", True
    if request.htmx:
        return render_template("jobs/_retry_result.html", message=message, ok=ok, execution_id=execution_id)
    flash(message, "success" if ok else "error")
    return redirect(url_for("jobs.index"))
