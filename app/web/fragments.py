"""Parts of a page drawn once and kept by the values they show: the top bar, the queue's filter form
and bulk panel.

The queue's rows are kept by their values (app/web/rows.py); around them, the top bar, the filter
form and the bulk-change panel were drawn anew on every request although they show the same few
values again and again: who is signed in and where, the filters in the query string, the workspace's
people. ``kept_fragment(name, **values)`` renders the template ``name`` with exactly ``values`` as its
context, keeps the HTML under those values (and where the app is mounted, for its URLs), and answers
the kept HTML next time. ``live`` values (the CSRF token, text typed in the search box) are not
kept: the HTML holds a marker for each and every request writes its own value there, escaped.

What makes it safe: a kept fragment may read nothing but its values and the pure globals below
(constants, ``url_for``, label helpers). Before a fragment is first kept, its template, and every
template it imports or includes, is parsed and the names it reads are checked against that list:
a fragment that reads ``current_user``, ``request``, ``csrf_token`` or any other value of the request
is refused (RuntimeError) instead of being kept for everyone. A fragment that changes a live value
(a filter on the marker) is refused too. Values are keyed as given (lists become
tuples); a value that cannot be a key is an error, not a miss. Nothing is kept while templates
auto-reload (development). At most MAX_FRAGMENTS per process; when full, the store starts again empty.
"""
from __future__ import annotations

import secrets
from functools import lru_cache

from jinja2 import Environment, meta
from markupsafe import Markup, escape

from app.web.urls import mount_point

MAX_FRAGMENTS = 1024
# Globals a kept fragment may read: the same for every request and every user.
PURE_GLOBALS = frozenset({"url_for", "STATUSES", "PRIORITIES", "STATUS_LABELS", "PRIORITY_LABELS", "person_options"})

_kept: dict[tuple, str] = {}
_SECRET = secrets.token_hex(8)
_allowed: set[tuple] = set()


def kept_fragment(environment: Environment, name: str, /, live: dict | None = None, **values) -> Markup:
    """``name`` rendered with ``values``, kept under them. ``live``: values that change with every
    request or person (a CSRF token, what was typed in a search box): not part of the key; the kept
    HTML holds a marker for each, and each request puts its own value there, escaped."""
    live = live or {}
    key = (name, mount_point(), tuple(live),
           *((k, tuple(v) if type(v) is list else v) for k, v in sorted(values.items())))
    hash(key)  # a value that cannot be a key is an error here, in development too
    html = None if environment.auto_reload else _kept.get(key)
    if html is None:
        check(environment, name, values, live)
        html = environment.get_template(name).render(**values, **{k: _marker(k) for k in live})
        if html.count("\x00") != 2 * sum(html.count(_marker(k)) for k in live):  # NUL is in markers only
            raise RuntimeError(f"{name} changes a live value (a filter?): it must write it as it is")
        if not environment.auto_reload:
            if len(_kept) >= MAX_FRAGMENTS:
                _kept.clear()
            _kept[key] = html
    for k, value in live.items():
        html = html.replace(_marker(k), escape(value))
    return Markup(html)


def _marker(name: str) -> Markup:
    """Where a live value goes: a random part drawn at start-up, so no user text can contain it."""
    return Markup(f"\x00{name}-{_SECRET}\x00")


def check(environment: Environment, name: str, values: dict, live: dict | None = None) -> None:
    """Refuse a fragment that reads anything but its values and the pure globals."""
    names = frozenset(values) | frozenset(live or ())
    if (name, names) in _allowed:
        return
    extra = reads(environment, name) - names - PURE_GLOBALS
    if extra:
        raise RuntimeError(f"{name} reads {', '.join(sorted(extra))}: not among its values, so it cannot be kept")
    _allowed.add((name, names))


def reads(environment: Environment, name: str, seen: frozenset = frozenset()) -> set[str]:
    """The names ``name`` reads from its context or the globals, with those of what it imports or includes."""
    source = environment.loader.get_source(environment, name)[0]
    tree = _bare(environment).parse(source)  # jinja2.meta leaves out names that are globals: parse without any
    names = set(meta.find_undeclared_variables(tree))
    for other in meta.find_referenced_templates(tree):
        if other is None:
            raise RuntimeError(f"{name} includes a template chosen at run time: it cannot be checked, so not kept")
        if other not in seen:
            names |= reads(environment, other, seen | {name})
    return names


@lru_cache(maxsize=8)
def _bare(environment: Environment) -> Environment:
    """An environment with the same syntax, filters and tests and no globals, to see every name a
    template reads."""
    bare = Environment(extensions=[type(extension) for extension in environment.extensions.values()])
    bare.globals.clear()
    bare.filters.update(environment.filters)
    bare.tests.update(environment.tests)
    return bare


def forget() -> None:
    """Drop every kept fragment (tests)."""
    _kept.clear()
    _allowed.clear()
