"""The Meilisearch backend.

- Against a recording fake on 127.0.0.1 (tests/integration/search/meili_fake.py, not
  Meilisearch): the settings, documents and search parameters we send, tenant
  filtering, highlighting, the fallback to SQL full text, and retries.
- Against a live server when MEILISEARCH_URL is set (skipped otherwise: no
  Meilisearch server can be installed on this machine).
"""
from __future__ import annotations

import logging
import os
import time
import uuid

import pytest

from app.models.search import doc_id
from app.repositories.search import SearchIndexRepository
from app.services import comments as comment_service
from app.services import search as search_service
from app.services.search import SearchQuery, meili, search_comments, search_tickets
from app.services.search.indexing import index_in_meili
from app.services.search.sync import reindex_tenant, sync_tenant
from tests.conftest import make_ticket
from tests.integration.search.meili_fake import RecordingMeili


def one(fake, uid: str, **fields) -> dict:
    found = [d for d in fake.documents(uid).values() if all(d.get(k) == v for k, v in fields.items())]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def fake(app, monkeypatch):
    with RecordingMeili() as server:
        monkeypatch.setitem(app.config, "MEILISEARCH_URL", server.url)
        monkeypatch.setattr(search_service, "_tripped_until", 0.0)
        yield server


@pytest.fixture
def data(app, acme, globex):
    """Made before Meilisearch is configured: the SQL index has it, the server does not yet."""
    with app.app_context():
        number = make_ticket(acme, subject="Refund <b>missing</b>", description="Where is my refund?",
                             tags=["billing"]).number
        with acme.uow() as uow:
            comment_id = comment_service.add_comment(uow, number, body="Refund sent <i>today</i>", public=False).id
            uow.commit()
        make_ticket(globex, subject="Refund for globex", description="other tenant")
    return {"number": number, "comment": comment_id}


def test_reindex_sends_settings_and_documents(app, fake, acme, data):
    with app.app_context():
        result = reindex_tenant(acme.tenant)
    assert result.remote == 2  # one ticket, one comment
    settings = fake.indexes["ticketry_tickets"]["settings"]
    assert "tenant_id" in settings["filterableAttributes"]
    assert settings["searchableAttributes"][0] == "subject"
    assert {"status", "priority", "assignee_id", "created_at"} <= set(settings["filterableAttributes"])
    assert "public" in fake.indexes["ticketry_comments"]["settings"]["filterableAttributes"]
    assert fake.sent("POST", "/indexes") == [{"primaryKey": "id", "uid": "ticketry_tickets"},
                                             {"primaryKey": "id", "uid": "ticketry_comments"}]
    ticket = one(fake, "ticketry_tickets", tenant_id=acme.tenant.id, number=data["number"])
    assert ticket["tenant_id"] == acme.tenant.id and ticket["number"] == data["number"]
    assert ticket["subject"] == "Refund <b>missing</b>" and ticket["tags"] == ["billing"]
    assert ticket["status"] == "new" and ticket["priority"] == "normal" and isinstance(ticket["created_at"], int)
    comment = fake.documents("ticketry_comments")[doc_id(acme.tenant.id, data["comment"])]
    assert comment["public"] is False and comment["ticket_number"] == data["number"]
    assert comment["body"] == "Refund sent <i>today</i>"
    # documents of deleted rows go: everything of this tenant not refreshed by this push
    deletes = fake.sent("POST", "/documents/delete")
    assert all(f"tenant_id = {acme.tenant.id}" in body["filter"] for body in deletes) and deletes


def test_search_sends_the_tenant_filter_and_escapes_highlights(app, fake, acme, data):
    with app.app_context():
        reindex_tenant(acme.tenant)
        page = search_tickets(acme.uow(), SearchQuery(text='refund" OR tenant_id = 2', statuses=["new"],
                                                      priorities=["normal"]))
        comments = search_comments(acme.uow(), SearchQuery(text="refund", visibility="internal"))
    assert page.extra["backend"] == "meilisearch"
    body = fake.sent("POST", "/indexes/ticketry_tickets/search")[-1]
    assert body["filter"][0] == f"tenant_id = {acme.tenant.id}"
    assert body["filter"][1:] == ['status IN ["new"]', 'priority IN ["normal"]']
    assert body["q"] == "refund or tenant id 2"  # words only: no filter syntax from the client
    assert comments.items and comments.items[0].snippet == "<mark>Refund</mark> sent &lt;i&gt;today&lt;/i&gt;"
    comment_body = fake.sent("POST", "/indexes/ticketry_comments/search")[-1]
    assert comment_body["filter"] == [f"tenant_id = {acme.tenant.id}", "public = false"]
    with app.app_context():
        page = search_tickets(acme.uow(), SearchQuery(text="refund"))
    assert [h.number for h in page.items] == [data["number"]]
    assert page.items[0].subject == "<mark>Refund</mark> &lt;b&gt;missing&lt;/b&gt;"


def test_events_reach_meilisearch_through_the_queue(app, fake, acme):
    with app.app_context():
        number = make_ticket(acme, subject="Laptop broken").number
        with acme.uow() as uow:
            comment_id = comment_service.add_comment(uow, number, body="Sent a new one", public=True).id
            uow.commit()
    ticket = one(fake, "ticketry_tickets", tenant_id=acme.tenant.id, number=number)
    assert ticket["subject"] == "Laptop broken"
    assert ticket["status"] == "open"  # the agent's reply opened it
    assert ticket["id"] == doc_id(acme.tenant.id, ticket["ticket_id"])
    assert fake.documents("ticketry_comments")[doc_id(acme.tenant.id, comment_id)]["body"] == "Sent a new one"


def test_meilisearch_down_falls_back_to_sql_and_is_counted(app, fake, acme, data, caplog, monkeypatch):
    # alembic's fileConfig (run by the migrations) disables loggers that existed before it
    monkeypatch.setattr(logging.getLogger("app.services.search"), "disabled", False)
    caplog.set_level(logging.WARNING, logger="app.services.search")
    fake.fail = True
    before = search_service.FALLBACKS.count
    with app.app_context():
        page = search_tickets(acme.uow(), SearchQuery(text="refund"))
        again = search_tickets(acme.uow(), SearchQuery(text="refund"))  # cooling down: not even asked
    assert page.extra["backend"] == "sql" and [h.number for h in page.items] == [data["number"]]
    assert again.extra["backend"] == "sql"
    assert search_service.FALLBACKS.count == before + 2
    assert "Meilisearch failed" in caplog.text
    assert len(fake.sent("POST", "/search")) == 1


def test_unreachable_meilisearch_falls_back(app, acme, data, monkeypatch):
    monkeypatch.setitem(app.config, "MEILISEARCH_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(search_service, "_tripped_until", 0.0)
    with app.app_context():
        page = search_comments(acme.uow(), SearchQuery(text="refund"))
    assert page.extra["backend"] == "sql" and [h.id for h in page.items] == [data["comment"]]


def test_index_handler_raises_so_the_job_retries(app, fake, acme, data):
    from app.models import OutboxEvent
    from app.extensions import db
    from sqlalchemy import select

    fake.fail = True
    with app.app_context():
        event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.event_type == "ticket.created",
                                                            OutboxEvent.tenant_id == acme.tenant.id))
        with pytest.raises(Exception):
            with acme.uow() as uow:
                index_in_meili(uow, event)
        fake.fail = False
        with acme.uow() as uow:
            index_in_meili(uow, event)  # the retry
            uow.commit()
    assert fake.documents("ticketry_tickets")


def test_worker_start_sync_sends_only_what_the_server_missed(app, fake, acme, data):
    with app.app_context():
        sync_tenant(acme.tenant)  # server empty: everything of this tenant goes
        mine = [d for d in fake.documents("ticketry_tickets").values() if d["tenant_id"] == acme.tenant.id]
        assert len(mine) == 1 and doc_id(acme.tenant.id, data["comment"]) in fake.documents("ticketry_comments")
        fake.requests.clear()
        sync_tenant(acme.tenant)  # nothing new: only documents indexed in the overlap window are re-sent
        searches = fake.sent("POST", "/search")
        assert all(body["filter"] == [f"tenant_id = {acme.tenant.id}"] for body in searches)


# -- a live server ----------------------------------------------------------------------------
LIVE = os.environ.get("MEILISEARCH_URL")


@pytest.mark.skipif(not LIVE, reason="MEILISEARCH_URL is not set: no Meilisearch server on this machine")
def test_live_server_round_trip(app, acme, globex, monkeypatch):
    prefix = f"ticketry_test_{uuid.uuid4().hex[:8]}"
    backend = meili.MeiliBackend(LIVE, os.environ.get("MEILISEARCH_API_KEY", ""), prefix=prefix)
    monkeypatch.setattr(meili, "backend_for", lambda config: backend)
    with app.app_context():
        number = make_ticket(acme, subject="Live refund question", description="Where is it?").number
        make_ticket(globex, subject="Live refund globex", description="other")
        backend.ensure_indexes()
        for ws in (acme, globex):
            backend.push_all(SearchIndexRepository(ws.uow().session, ws.tenant.id))
        deadline = time.time() + 30
        while time.time() < deadline:
            page = search_tickets(acme.uow(), SearchQuery(text="refund"))
            if page.total:
                break
            time.sleep(0.5)
        assert page.extra["backend"] == "meilisearch"
        assert [h.number for h in page.items] == [number]
        assert "<mark>" in page.items[0].subject
        prefix_page = search_tickets(acme.uow(), SearchQuery(text="refu"))
        assert [h.number for h in prefix_page.items] == [number]
    for kind in meili.SETTINGS:
        backend.client.delete_index(f"{prefix}_{kind}")
