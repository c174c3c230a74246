"""The reference for tests/bench/bench_http.py: a bare Flask app that renders a 25-row HTML table from memory.

    gunicorn --config deploy/gunicorn.conf.py --pythonpath tests/bench reference_app:app

No database, no session, no middleware: one Jinja template (autoescaped, a
``for`` loop, a few filters per row, as the queue's table has) over 25 rows
built once at import. Served with the same gunicorn settings as Ticketry, it
is the ceiling a Flask page can reach on this machine under the same load, so
"the queue reaches half the reference's requests per second" means the same
thing on a quiet laptop and on a busy CI runner.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Flask, render_template
from jinja2 import DictLoader

app = Flask(__name__)

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
ROWS = [
    {
        "number": 100_000 - i,
        "subject": f"Invoice shows the wrong amount after the latest update ({i})",
        "requester_name": "Alex Walker",
        "requester_email": "alex.walker@customer-one.example",
        "status": STATUSES[i % len(STATUSES)],
        "priority": ("low", "normal", "high", "urgent")[i % 4],
        "assignee": f"Agent {i % 7}" if i % 3 else None,
        "tags": ["billing", "refund"][: i % 3],
        "updated_at": NOW - timedelta(minutes=37 * i),
    }
    for i in range(25)
]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tickets</title></head>
<body><main>
<h1>Tickets</h1>
<table class="data">
  <thead><tr><th>#</th><th>Subject</th><th>Requester</th><th>Status</th><th>Priority</th><th>Assignee</th>
  <th>Tags</th><th>Updated</th></tr></thead>
  <tbody>
  {% for t in rows %}
  <tr id="ticket-{{ t.number }}">
    <td class="num">#{{ t.number }}</td>
    <td class="subject"><a href="{{ url_for('show', number=t.number) }}">{{ t.subject }}</a></td>
    <td>{{ t.requester_name }}<div class="muted small">{{ t.requester_email }}</div></td>
    <td><span class="badge status-{{ t.status }}">{{ t.status|replace('_', ' ')|capitalize }}</span></td>
    <td><span class="prio prio-{{ t.priority }}">{{ t.priority|capitalize }}</span></td>
    <td>{% if t.assignee %}{{ t.assignee }}{% else %}<span class="muted">Unassigned</span>{% endif %}</td>
    <td>{% for tag in t.tags %}<span class="tag">{{ tag }}</span>{% endfor %}</td>
    <td><time datetime="{{ t.updated_at.isoformat() }}">{{ t.updated_at.strftime('%d %b %Y %H:%M') }}</time></td>
  </tr>
  {% endfor %}
  </tbody>
</table>
</main></body></html>
"""


app.jinja_loader = DictLoader({"table.html": PAGE})  # compiled once and cached, like the app's templates


@app.get("/tickets")
def table():
    return render_template("table.html", rows=ROWS)


@app.get("/tickets/<int:number>")
def show(number: int):
    return f"ticket {number}"
