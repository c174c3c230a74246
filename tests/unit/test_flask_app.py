"""TicketryFlask.ensure_sync: Flask's answer, asked once per function."""
from __future__ import annotations

import pytest

from app.flask_app import TicketryFlask


def test_a_sync_function_runs_as_it_is_and_is_inspected_once(monkeypatch):
    import flask.app

    asked = []
    real = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda f: asked.append(f) or real(f))
    app = TicketryFlask(__name__)

    def hook():
        return "done"

    assert all(app.ensure_sync(hook) is hook for _ in range(5))
    assert asked == [hook]


def test_a_coroutine_function_still_goes_to_flask(monkeypatch):
    """Flask wraps (or, without its async extra, refuses) a coroutine function: the kept answer is Flask's."""
    app = TicketryFlask(__name__)

    async def view():
        return "done"

    calls = []
    monkeypatch.setattr(app, "async_to_sync", lambda f: calls.append(f) or (lambda: "wrapped"))
    assert app.ensure_sync(view)() == "wrapped"
    assert app.ensure_sync(view)() == "wrapped"
    assert calls == [view]


def test_an_unhashable_callable_is_asked_every_time():
    app = TicketryFlask(__name__)

    class Unhashable:
        __hash__ = None

        def __call__(self):
            return "done"

    hook = Unhashable()
    assert app.ensure_sync(hook) is hook
    with pytest.raises(TypeError):
        hash(hook)
