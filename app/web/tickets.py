from flask import Blueprint
from flask_login import login_required

bp = Blueprint("tickets", __name__)


@bp.route("/tickets")
@login_required
def queue():
    return "queue"
