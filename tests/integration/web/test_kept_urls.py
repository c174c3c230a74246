"""Templates' url_for (app/web/urls.py): each URL built once per process, always the URL Flask builds."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, g

from app.web import urls
from tests.conftest import make_ticket

CALLS = [
    ("tickets.queue", {}),
    ("tickets.queue", {"status": ["open", "pending"], "page": 2}),
    ("tickets.queue", {"page": 2, "status": ["open", "pending"]}),  # same values, other order: other URL
    ("tickets.queue", {"assignee": None, "q": "a b&c/é"}),
    ("tickets.queue_changes", {"shown": (3, 2, 1), "known": 4}),
    ("tickets.show", {"number": 7}),
    ("static", {"filename": "css/app.css"}),
]


@pytest.fixture()
def kept(app):
    urls.forget()
    yield app.jinja_env.globals["url_for"]
    urls.forget()


def test_templates_use_the_kept_url_for(app, kept):
    assert kept.func is urls.kept_url_for


@pytest.mark.parametrize("endpoint, values", CALLS)
def test_a_kept_url_is_the_url_flask_builds(app, kept, endpoint, values):
    with app.test_request_context("/"):
        assert kept(endpoint, **values) == app.url_for(endpoint, **values)
        assert kept(endpoint, **values) == app.url_for(endpoint, **values)  # the second time, from the store


def test_the_query_string_keeps_the_order_of_the_values(app, kept):
    with app.test_request_context("/"):
        first = kept("tickets.queue", status="open", page=2)
        second = kept("tickets.queue", page=2, status="open")
    assert first.endswith("?status=open&page=2") and second.endswith("?page=2&status=open")


def test_a_url_is_built_once_then_looked_up(app, kept, monkeypatch):
    with app.test_request_context("/"):
        url = kept("tickets.queue", status=["open"], page=3)

        def refuse(*args, **kwargs):
            raise AssertionError("built again")

        monkeypatch.setattr(app, "url_for", refuse)
        assert kept("tickets.queue", status=["open"], page=3) == url
        with pytest.raises(AssertionError, match="built again"):
            kept("tickets.queue", status=["open"], page=4)  # other values: built


@pytest.mark.parametrize("values", [
    {"page": True},  # True == 1 as a key, but Flask writes "True"
    {"since": datetime(2026, 11, 26, tzinfo=timezone.utc)},
    {"shown": [1, True]},
    {"_anchor": "comments"},
])
def test_values_that_are_not_plain_go_to_flask_every_time(app, kept, monkeypatch, values):
    with app.test_request_context("/"):
        expected = app.url_for("tickets.queue", **values)
        assert kept("tickets.queue", **values) == expected
        calls = []
        real = app.url_for
        monkeypatch.setattr(app, "url_for", lambda *a, **k: calls.append(a) or real(*a, **k))
        assert kept("tickets.queue", **values) == expected
    assert calls == [("tickets.queue",)]


def test_true_and_one_are_different_urls(app, kept):
    with app.test_request_context("/"):
        assert parse_qs(urlsplit(kept("tickets.queue", page=1)).query) == {"page": ["1"]}
        assert parse_qs(urlsplit(kept("tickets.queue", page=True)).query) == {"page": ["True"]}


def test_the_url_follows_where_the_app_is_mounted(app, kept):
    with app.test_request_context("/"):
        assert kept("tickets.queue") == "/tickets"
    with app.test_request_context("/", base_url="http://localhost/help/"):
        assert app.url_for("tickets.queue") == "/help/tickets"
        assert kept("tickets.queue") == "/help/tickets"


def test_outside_a_request_flask_builds_an_external_url(app, kept):
    app.config["SERVER_NAME"] = "help.example"
    try:
        with app.app_context():
            assert kept("tickets.queue") == "http://help.example/tickets"
    finally:
        app.config["SERVER_NAME"] = None


def test_an_app_with_url_defaults_builds_every_url_itself():
    """A url_defaults function may add values the key does not hold (here from ``g``): no URL of such an
    app is kept. An app without one is known settled after its first request (no setup method may run then)."""
    plain, defaulted = Flask("plain"), Flask("defaulted")
    for app in (plain, defaulted):
        app.add_url_rule("/t/<lang>/<int:n>", "t", lambda lang, n: "")
        app.add_url_rule("/", "home", lambda: "")
    defaulted.url_defaults(lambda endpoint, values: values.setdefault("lang", g.lang))
    urls.forget()
    for app in (plain, defaulted):
        app.test_client().get("/")  # the first request: setup is over
    for lang in ("fr", "de"):
        with defaulted.test_request_context("/"):
            g.lang = lang
            assert urls.kept_url_for(defaulted, "t", n=2) == f"/t/{lang}/2"
    with plain.test_request_context("/"):
        assert urls.kept_url_for(plain, "t", lang="en", n=1) == "/t/en/1"
    assert plain in urls._settled and defaulted not in urls._settled
    assert len(urls._kept) == 1  # plain's URL only
    urls.forget()


def test_an_unknown_endpoint_is_flasks_error(app, kept):
    from werkzeug.routing import BuildError

    with app.test_request_context("/"), pytest.raises(BuildError):
        kept("tickets.nowhere")


def test_the_store_is_bounded(app, kept, monkeypatch):
    monkeypatch.setattr(urls, "MAX_URLS", 3)
    with app.test_request_context("/"):
        for n in range(1, 10):
            assert kept("tickets.queue", page=n).endswith(f"page={n}")
            assert len(urls._kept) <= 3


def test_the_queue_polls_for_changes_since_the_page_was_drawn(app, acme, agent_client):
    with app.app_context():
        shown = {str(make_ticket(acme, subject=f"Ticket {n}").number) for n in range(2)}
    html = agent_client.get("/tickets").get_data(as_text=True)
    poll = html.split('id="queue-changes-poll"', 1)[1].split('hx-get="', 1)[1].split('"', 1)[0]
    query = parse_qs(urlsplit(poll.replace("&amp;", "&")).query)
    assert urlsplit(poll).path == "/tickets/changes"
    assert datetime.fromisoformat(query["since"][0]).tzinfo is not None
    assert set(query["shown"]) == shown  # the numbers on the page, built once with the rest of the URL
