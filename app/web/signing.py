"""Signing that every page request does, done once where the answer cannot differ.

- The CSRF token: flask-wtf signs the session's CSRF secret with the time at every request that draws a
  form (an itsdangerous serializer built and run: 3 % of a queue request). Any signed token of the
  session's secret is accepted for as long as the session lives (WTF_CSRF_TIME_LIMIT is None, config.py),
  so the one made in the current minute serves every page of that session drawn in the same minute. Were
  a time limit set, a token would be accepted for at most a minute less. ``reuse_csrf_token`` (before the
  view) puts the kept token where flask-wtf looks first (``g.csrf_token``), so templates and forms alike
  use it; ``keep_csrf_token`` (after) keeps the token a request signed. Kept per (signing key, session
  secret, minute); the store holds the current minute's tokens only.
- ``KeptSerializerSessionInterface``: Flask builds the session cookie's serializer (and its key list)
  twice a request; it depends only on the secret keys, so it is built once per set of keys.
"""
from __future__ import annotations

import threading
import time

from flask import Response, current_app, g, session
from flask.sessions import SecureCookieSessionInterface

_lock = threading.Lock()
_tokens: dict[tuple, str] = {}
_minute = {"now": -1}


def _key() -> tuple | None:
    raw = session.get("csrf_token")
    if not isinstance(raw, str):
        return None
    return current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, raw, int(time.time() // 60)


def reuse_csrf_token() -> None:
    """Before the view: this minute's signed token of the session, when one was made."""
    key = _key()
    if key is not None:
        token = _tokens.get(key)
        if token is not None:
            g.csrf_token = token


def keep_csrf_token(response: Response) -> Response:
    """After the view: keep the token this request signed, for the session's next pages this minute."""
    token = g.get("csrf_token")
    if token is not None:
        key = _key()
        if key is not None and key not in _tokens:
            with _lock:
                if _minute["now"] != key[2]:
                    _tokens.clear()
                    _minute["now"] = key[2]
                _tokens[key] = token
    return response


def forget() -> None:
    with _lock:
        _tokens.clear()


class KeptSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, its serializer built once per set of secret keys."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, object] = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer
