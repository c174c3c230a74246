"""``url_for`` for templates, each URL built once per process and then looked up.

A queue page builds about forty URLs (the top bar's links, the filter form, the sort links, the page
links, the bulk form) and werkzeug builds each one anew: finding the rule, converting the values,
encoding the query string. That was a tenth of the page's work (docs/performance.md). The URL a
request-bound ``url_for`` returns is a function of the endpoint, the values in their order (the query
string keeps it), and where the app is mounted (the adapter's server name and script root): nothing
else, once no ``url_defaults`` function can add values (the app registers none; if one appears, every
call goes to Flask). So the URL is kept under exactly those.

Kept only for plain values: str, int (not bool: ``True`` and ``1`` are equal keys but different URLs),
None, and lists or tuples of str and int. Anything else, a relative endpoint (``.name``), an option
(``_external``, ``_anchor``, ...) or no request at all goes to Flask's ``url_for`` unchanged, as does an
unknown endpoint (its BuildError is Flask's). At most MAX_URLS URLs per process; when full, the store
starts again empty (the queue's "changes since" link, which carries the time, is new every request).
"""
from __future__ import annotations

import weakref

from flask import Flask
from flask.globals import _cv_request

MAX_URLS = 4096
_PLAIN = (str, int, type(None))
_kept: dict[tuple, str] = {}
# Apps seen without url_defaults functions after their first request: Flask refuses new setup then, so the
# answer cannot change (asked forty times a page, it was a tenth of this module's cost).
_settled: "weakref.WeakSet[Flask]" = weakref.WeakSet()


def kept_url_for(app: Flask, endpoint: str, **values) -> str:
    ctx = _cv_request.get(None)
    key = _key(ctx, endpoint, values)
    if key is None:
        return app.url_for(endpoint, **values)
    url = _kept.get(key)
    if url is None:
        url = app.url_for(endpoint, **values)
        if len(_kept) >= MAX_URLS:
            _kept.clear()
        _kept[key] = url
    return url


def _key(ctx, endpoint: str, values: dict) -> tuple | None:
    if ctx is None or endpoint[:1] == "." or _url_defaults_possible(ctx.app):  # the request's app itself, not a proxy
        return None
    parts: list = [*_mount(ctx), endpoint]
    for name, value in values.items():
        kind = type(value)
        if kind in _PLAIN:
            if name[:1] == "_":
                return None
        elif kind is list or kind is tuple:
            if any(type(item) not in _PLAIN for item in value):
                return None
            value = (kind, *value)
        else:
            return None
        parts.append(name)
        parts.append(value)
    return tuple(parts)


def _url_defaults_possible(app: Flask) -> bool:
    if app in _settled:
        return False
    if any(app.url_default_functions.values()):
        return True
    if app._got_first_request:
        _settled.add(app)
    return False


def mount_point() -> tuple | None:
    """Where the app is mounted for this request (server name, script root): what a path depends on."""
    ctx = _cv_request.get(None)
    return None if ctx is None else _mount(ctx)


def _mount(ctx) -> tuple:
    return ctx.url_adapter.server_name, ctx.url_adapter.script_name


def forget() -> None:
    """Drop every kept URL (tests)."""
    _kept.clear()
