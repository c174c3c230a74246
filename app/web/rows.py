"""The queue's rows, rendered once and kept by the values they show.

Every queue request draws twenty rows, and most are the rows the agent (and every other agent of the
workspace) saw a moment ago: the template's work per row was the biggest part of the page's cost
(docs/performance.md). A row's HTML is a function of its values (the ticket's columns and tags, the
assignee's name, whether it is ticked, the URL prefix) and of the clock: the SLA badge ("2 h left") and
how long ago the ticket changed. So ``tickets/_queue_row.html`` is rendered with a marker in place of
each of those two parts, the HTML around them is kept under every value of the row, and each request
joins the kept pieces with the two parts drawn now.

A kept row cannot be stale: a change to anything the row shows is a change to a value, so another key.
The key holds every value of the row, not a chosen few, so a template that starts showing a new column
stays right. The marker carries a random part drawn at start-up: user text cannot contain it. Nothing is
kept while templates auto-reload (development), so an edit to the row shows at once. At most MAX_ROWS
rows per process (about 1.3 KB each); when full, the store starts again empty.
"""
from __future__ import annotations

import secrets

from jinja2 import Environment
from markupsafe import Markup

from app.models.base import utcnow
from app.web.filters import tenant_zone, ticket_href, time_tag
from app.web.sla import sla_badge

MAX_ROWS = 4096
ROW_TEMPLATE = "tickets/_queue_row.html"
_CLOCK = Markup(f"\x00clock-{secrets.token_hex(8)}\x00")  # where a clock part goes; Markup: never escaped
_kept: dict[tuple, tuple[str, str, str]] = {}


def queue_rows(environment: Environment, rows, selected) -> Markup:
    """The ``<tr>`` of every row, in order; ``selected``: the numbers whose box is ticked."""
    template = environment.get_template(ROW_TEMPLATE)
    keep = not environment.auto_reload
    prefix = ticket_href(0)
    zone, now = tenant_zone(), utcnow()  # read once for the page's twenty clock parts
    html = []
    for row in rows:
        picked = row.number in selected
        pieces = None
        if keep:
            key = (prefix, picked, *row.__dict__.values())
            pieces = _kept.get(key)
        if pieces is None:
            pieces = _pieces(template, row, picked)
            if keep and pieces is not None:
                if len(_kept) >= MAX_ROWS:
                    _kept.clear()
                _kept[key] = pieces
        if pieces is None:  # not cut in three: drawn whole, every time (never seen; a safety net)
            html.append(template.render(t=row, picked=picked, sla=sla_badge(row, now),
                                        updated=time_tag(row.updated_at, zone=zone, now=now)))
        else:
            html.append(f"{pieces[0]}{sla_badge(row, now)}{pieces[1]}{time_tag(row.updated_at, zone=zone, now=now)}"
                        f"{pieces[2]}")
    return Markup("".join(html))


def _pieces(template, row, picked: bool) -> tuple[str, str, str] | None:
    """The row's HTML before, between and after its two clock parts."""
    pieces = template.render(t=row, picked=picked, sla=_CLOCK, updated=_CLOCK).split(_CLOCK)
    return tuple(pieces) if len(pieces) == 3 else None


def forget() -> None:
    """Drop every kept row (tests)."""
    _kept.clear()
