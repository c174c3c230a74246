"""Jinja filters and globals every page uses."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache, partial
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from flask_login import current_user
from jinja2 import Environment
from markupsafe import Markup, escape

from app.models.tickets import PRIORITIES, STATUSES
from app.services.rich_text import render_markdown
from app.web.urls import kept_url_for

STATUS_LABELS = {"new": "New", "open": "Open", "pending": "Pending", "on_hold": "On hold",
                 "solved": "Solved", "closed": "Closed"}
PRIORITY_LABELS = {p: p.capitalize() for p in PRIORITIES}


def tenant_zone() -> ZoneInfo:
    """The signed-in tenant's time zone, looked up once per request (a page shows dozens of times)."""
    zone = g.get("_ticketry_zone")
    if zone is None:
        name = current_user.tenant.timezone if getattr(current_user, "is_authenticated", False) else "UTC"
        try:
            zone = ZoneInfo(name)
        except Exception:
            zone = ZoneInfo("UTC")
        g._ticketry_zone = zone
    return zone


TIME_FORMAT = "%d %b %Y, %H:%M"


def localtime(value: datetime | None, fmt: str = TIME_FORMAT) -> str:
    """A UTC datetime shown in the tenant's time zone."""
    if value is None:
        return ""
    return value.astimezone(tenant_zone()).strftime(fmt)


def isotime(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat() if value else ""


def timeago(value: datetime | None, zone: ZoneInfo | None = None, now: datetime | None = None) -> str:
    """How long ago ("5 minutes ago"); past 30 days, the date in the tenant's zone."""
    if value is None:
        return ""
    return _ago(value, zone, _minutes_since(value, now))


def _minutes_since(value: datetime, now: datetime | None) -> int:
    """Whole minutes from ``value`` to now (floored): all that "how long ago" depends on, since it counts
    in minutes, hours (60) and days (1,440)."""
    return int(((now or datetime.now(timezone.utc)) - value).total_seconds()) // 60


def _ago(value: datetime, zone: ZoneInfo | None, minutes: int) -> str:
    if minutes < 1:
        return "just now"
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes >= size:
            n = minutes // size
            if unit == "day" and n > 30:
                return value.astimezone(zone or tenant_zone()).strftime("%d %b %Y")
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def time_tag(value: datetime | None, css: str | None = None, zone: ZoneInfo | None = None,
             now: datetime | None = None) -> Markup | str:
    """``<time>`` saying how long ago ("5 minutes ago"), the exact time in the tenant's zone as its title
    and the UTC instant as its datetime: what every list shows for a moment, in one call (the queue
    draws twenty). A list passes the ``zone`` and ``now`` it read once. The tag is a function of the
    value, the zone, the class and the minutes since: kept under them (the same row drawn again within
    the minute, or by a colleague, is a lookup). Every part is escaped."""
    if value is None:
        return ""
    return _time_tag(value, zone or tenant_zone(), css, _minutes_since(value, now))


@lru_cache(maxsize=4096)
def _time_tag(value: datetime, zone: ZoneInfo, css: str | None, minutes: int) -> Markup:
    attrs = f'class="{escape(css)}" ' if css else ""
    instant, title = escape(isotime(value)), escape(value.astimezone(zone).strftime(TIME_FORMAT))
    return Markup(f'<time {attrs}datetime="{instant}" title="{title}">{escape(_ago(value, zone, minutes))}</time>')


def ticket_href(number: int) -> str:
    """``url_for("tickets.show", number=number)`` for lists: the URL is built once per request, then each
    row only appends its number (url_for per row was a tenth of a queue page's rendering); the prefix
    itself is a kept URL (app/web/urls.py)."""
    prefix = g.get("_ticketry_ticket_href")
    if prefix is None:
        prefix = g._ticketry_ticket_href = kept_url_for(current_app, "tickets.show", number=1)[:-1]
    return f"{prefix}{number}"


def person_options(people: tuple, selected: object = None) -> Markup:
    """The ``<option>`` of every person of an assignee picker (``UserRepository.choices``: (id, name)
    rows), the one whose id is ``selected`` marked. A queue page draws the picker twice and the ticket
    page once, and the list is the same until someone is added, renamed or (de)activated: the HTML is
    kept under the people's values and the selected id (a rename is another key)."""
    return _person_options(tuple(people), "" if selected is None else str(selected))


@lru_cache(maxsize=256)
def _person_options(people: tuple, selected: str) -> Markup:
    return Markup("".join(f'<option value="{person.id}"{" selected" if str(person.id) == selected else ""}>'
                          f'{escape(person.name)}</option>' for person in people))


def static_include(environment: Environment, name: str) -> Markup:
    """A template that depends on nothing (no request, no user: the keyboard-shortcuts dialog), rendered
    once per process and reused on every page; rendered each time while templates auto-reload (debug)."""
    cache = environment.globals.setdefault("_static_fragments", {})
    html = cache.get(name)
    if html is None:
        html = Markup(environment.get_template(name).render())
        if not environment.auto_reload:
            cache[name] = html
    return html


def page_window(current: int, total: int, radius: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last, and a few around the current one; None marks a gap."""
    pages = sorted({1, total, *range(max(1, current - radius), min(total, current + radius) + 1)})
    window: list[int | None] = []
    for n in pages:
        if window and n - window[-1] > 1:
            window.append(None)
        window.append(n)
    return window


def pager_links(page) -> list[tuple]:
    """What the pager draws, in order, as (number, text, rel): Prev, the page window and Next; text None
    is the current page, number None a gap."""
    links: list[tuple] = [(page.page - 1, "‹ Prev", "prev")] if page.has_prev else []
    for n in page_window(page.page, page.total_pages):
        links.append((None, None, None) if n is None else (n, None if n == page.page else n, None))
    if page.has_next:
        links.append((page.page + 1, "Next ›", "next"))
    return links


def pager(page, href, target: str | None = None) -> Markup:
    """The page links under a paginated list, for every list page. ``page``: a repositories.pagination
    Page; ``href(n)``: the URL of page n, keeping the list's filters (a function or a macro of the
    calling template); ``target``: the element htmx swaps (its id selector), or None for plain links.
    Every link also works without JavaScript. A function rather than a macro: a list page draws up to
    nine links, and the macro calls cost more than the links (the queue's page links were 4 % of it)."""
    if page.total_pages <= 1:
        return Markup("")
    swap = f' hx-target="{escape(target)}" hx-swap="outerHTML" hx-push-url="true"' if target else ""
    items = []
    for n, text, rel in pager_links(page):
        if n is None:
            items.append('<li><span class="gap">…</span></li>')
        elif text is None:
            items.append(f'<li><span aria-current="page">{n}</span></li>')
        else:
            url = escape(href(n))
            hx = f' hx-get="{url}"{swap}' if target else ""
            label = f' rel="{rel}"' if rel else f' aria-label="Page {n}"'
            items.append(f'<li><a href="{url}"{hx}{label}>{escape(text)}</a></li>')
    return Markup('<nav aria-label="Pages">\n  <ul class="pagination">\n' + "\n".join(items) + "\n  </ul>\n</nav>")


def register_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        markdown=render_markdown,
        localtime=localtime,
        isotime=isotime,
        timeago=timeago,
        time_tag=time_tag,
        status_label=lambda s: STATUS_LABELS.get(s, s),
        priority_label=lambda p: PRIORITY_LABELS.get(p, p),
    )
    app.jinja_env.globals["static_include"] = partial(static_include, app.jinja_env)
    app.jinja_env.globals.update(STATUSES=STATUSES, PRIORITIES=PRIORITIES, STATUS_LABELS=STATUS_LABELS,
                                 PRIORITY_LABELS=PRIORITY_LABELS,
                                 ticket_href=ticket_href, person_options=person_options,
                                 pager=pager)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
