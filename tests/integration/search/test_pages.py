"""The /search page, the top bar's live results, and /api/v1/search/*."""
from __future__ import annotations

import pytest

from app.services import comments as comment_service
from tests.conftest import make_ticket


@pytest.fixture
def data(app, acme, globex):
    with app.app_context():
        refund = make_ticket(acme, subject="Refund not received", description="Where is my <em>refund</em>?").number
        other = make_ticket(acme, subject="Printer jam", description="Paper stuck").number
        with acme.uow() as uow:
            note = comment_service.add_comment(uow, refund, body="<script>x()</script> refund sent by bank", public=False)
            uow.commit()
        make_ticket(globex, subject="Refund for globex only", description="Other tenant refund")
    return {"refund": refund, "other": other, "note": note.id}


def test_search_page_lists_highlighted_tickets(client_for, acme, data):
    html = client_for(acme.agent).get("/search?q=refund").get_data(as_text=True)
    assert f'href="/tickets/{data["refund"]}"' in html
    assert "<mark>Refund</mark> not received" in html
    assert "&lt;em&gt;<mark>refund</mark>&lt;/em&gt;" in html and "<em>refund" not in html
    assert "globex" not in html.lower().replace("globex", "", 0) or "Refund for globex" not in html
    assert 'role="search"' in html and 'aria-current="page">Tickets' in html


def test_comments_tab_links_to_the_comment_in_the_conversation(client_for, acme, data):
    html = client_for(acme.agent).get("/search?q=refund&tab=comments").get_data(as_text=True)
    assert f'href="/tickets/{data["refund"]}#comment-{data["note"]}"' in html
    assert "&lt;script&gt;x()&lt;/script&gt; <mark>refund</mark>" in html and "<script>x()" not in html
    assert "Internal note" in html


def test_filters_and_empty_states(client_for, acme, data):
    client = client_for(acme.agent)
    assert "Search your workspace." in client.get("/search").get_data(as_text=True)
    html = client.get("/search?q=refund&status=solved").get_data(as_text=True)
    assert "No tickets match" in html and "remove the filters" in html
    html = client.get("/search?q=refund&priority=normal&status=new").get_data(as_text=True)
    assert f'href="/tickets/{data["refund"]}"' in html
    response = client.get("/search?q=refund&from=not-a-date")
    assert response.status_code == 422 and "Use a date like" in response.get_data(as_text=True)


def test_htmx_request_gets_the_results_fragment(client_for, acme, data):
    response = client_for(acme.agent).get("/search?q=printer", headers={"HX-Request": "true",
                                                                           "HX-Target": "search-results"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="search-results"') and "<html" not in html
    assert "<mark>Printer</mark> jam" in html


def test_top_bar_live_results(client_for, acme, data):
    client = client_for(acme.agent)
    page = client.get("/tickets").get_data(as_text=True)
    assert '<form class="topbar-search" role="search" method="get" action="/search">' in page
    assert 'hx-trigger="input changed delay:250ms, search"' in page and 'aria-live="polite"' in page
    assert '<label for="topbar-q" class="sr-only">' in page
    html = client.get("/search/live?q=refu", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'href="/tickets/{data["refund"]}"' in html and "<mark>Refund</mark>" in html
    assert f'#comment-{data["note"]}' in html and "/search?q=refu" in html
    assert "globex" not in html
    assert client.get("/search/live?q=").get_data(as_text=True).strip() == ""
    assert "Nothing matches" in client.get("/search/live?q=zzzzqqq").get_data(as_text=True)


def test_pages_need_sign_in(app):
    assert app.test_client().get("/search?q=x").status_code == 302


# -- API -----------------------------------------------------------------------------------
def test_api_ticket_search(api_for, acme, data):
    response = api_for(acme).get("/api/v1/search/tickets?q=refund")
    assert response.status_code == 200, response.json
    body = response.json
    assert [hit["number"] for hit in body["data"]] == [data["refund"]]
    hit = body["data"][0]
    assert hit["subject"] == "Refund not received"
    assert hit["highlights"]["subject"] == "<mark>Refund</mark> not received"
    assert "&lt;em&gt;<mark>refund</mark>&lt;/em&gt;" in hit["highlights"]["snippet"]
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 1, "totalPages": 1, "hasNext": False,
                                  "hasPrev": False}


def test_api_comment_search_and_filters(api_for, acme, data):
    api = api_for(acme)
    body = api.get("/api/v1/search/comments?q=bank&visibility=internal").json
    assert [c["id"] for c in body["data"]] == [data["note"]]
    assert body["data"][0]["ticketNumber"] == data["refund"] and body["data"][0]["public"] is False
    assert "&lt;script&gt;" in body["data"][0]["highlights"]["snippet"]
    assert api.get("/api/v1/search/comments?q=bank&visibility=public").json["data"] == []
    assert api.get("/api/v1/search/tickets?q=refund&status=solved,closed").json["data"] == []
    assert api.get("/api/v1/search/tickets?q=refund&assignee=unassigned&priority=normal").json["pagination"]["total"] == 1
    assert api.get("/api/v1/search/tickets?q=refund&createdFrom=2000-01-01&createdTo=2000-01-02").json["data"] == []


@pytest.mark.parametrize("query", ["", "?q=", "?q=%20%20", "?q=" + "x" * 201, "?q=a&status=nope",
                                   "?q=a&limit=101", "?q=a&createdFrom=2026-02-01&createdTo=2026-01-01"])
def test_api_bad_queries_are_422(api_for, acme, query):
    for kind in ("tickets", "comments"):
        response = api_for(acme).get(f"/api/v1/search/{kind}{query}")
        assert response.status_code == 422, (kind, query, response.json)
        assert "errors" in response.json


def test_api_nasty_queries_answer(api_for, acme, data):
    api = api_for(acme)
    for q in ['"', "NEAR(a b)", "a:*", "refund OR -x", "(((", "'; --"]:
        assert api.get("/api/v1/search/tickets", query_string={"q": q}).status_code == 200


def test_api_isolation_and_auth(api_with, api_for, acme, globex, data):
    assert api_with(None).get("/api/v1/search/tickets?q=refund").status_code == 401
    body = api_for(globex).get("/api/v1/search/tickets?q=refund").json
    assert [hit["subject"] for hit in body["data"]] == ["Refund for globex only"]
    assert api_for(globex).get("/api/v1/search/comments?q=bank").json["data"] == []


def test_openapi_documents_both_endpoints(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    for kind in ("tickets", "comments"):
        operation = spec["paths"][f"/api/v1/search/{kind}"]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"q", "status", "priority", "assignee", "createdFrom", "createdTo", "page", "limit"} <= names
        assert {"200", "401", "422"} <= set(operation["responses"])
    assert "visibility" in {p["name"] for p in spec["paths"]["/api/v1/search/comments"]["get"]["parameters"]}
