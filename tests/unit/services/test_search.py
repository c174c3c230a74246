"""SQL full-text search, for real on the test database (SQLite FTS5, or PostgreSQL with TEST_DATABASE_URL).

Data is made through the services; the outbox job runs after each commit (Huey's
immediate mode), so every search here reads what the search_sql handler indexed.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select, text

from app.errors import ValidationFailed
from app.extensions import db
from app.models import Comment, OutboxEvent, ProcessedEvent, Ticket
from app.models.base import utcnow
from app.models.search import SearchComment, SearchTicket
from app.services import comments as comment_service
from app.services import events
from app.services import tickets as ticket_service
from app.services.search import SearchQuery, search_comments, search_tickets
from app.services.search import sql as sql_backend
from app.services.search import sync
from tests.conftest import make_ticket
from tests.unit.services.test_search_terms import NASTY


@pytest.fixture(autouse=True)
def sql_backend_only(app, monkeypatch):
    """These tests are about SQL full text, even when MEILISEARCH_URL is set for the live Meilisearch test."""
    monkeypatch.setitem(app.config, "MEILISEARCH_URL", "")


def numbers(page) -> list[int]:
    return [hit.number for hit in page.items]


def find(ws, text, **filters):
    return search_tickets(ws.uow(), SearchQuery(text=text, **filters))


def find_comments(ws, text, **filters):
    return search_comments(ws.uow(), SearchQuery(text=text, **filters))


def reply(ws, number, body, public=True, user=None):
    with ws.uow(user) as uow:
        comment = comment_service.add_comment(uow, number, body=body, public=public)
        uow.commit()
    return comment


def test_subject_matches_rank_above_description_matches(ctx, acme):
    in_description = make_ticket(acme, subject="Question about my account",
                                 description="The refund for the invoice has not arrived.").number
    in_subject = make_ticket(acme, subject="Refund missing for invoice 77", description="Please help.").number
    unrelated = make_ticket(acme, subject="Printer on fire", description="Smoke everywhere.").number
    page = find(acme, "refund invoice")
    assert numbers(page) == [in_subject, in_description]
    assert unrelated not in numbers(page)
    assert page.items[0].score >= page.items[1].score
    assert page.meta() == {"page": 1, "limit": 20, "total": 2, "totalPages": 1, "hasNext": False, "hasPrev": False}


def test_every_word_must_match_and_the_last_one_as_a_prefix(ctx, acme):
    fire = make_ticket(acme, subject="Printer on fire", description="Smoke.").number
    make_ticket(acme, subject="Printer out of paper", description="Tray empty.")
    assert numbers(find(acme, "printer fi")) == [fire]
    assert numbers(find(acme, "print")) and len(find(acme, "print").items) == 2
    assert numbers(find(acme, "fire printer")) == [fire]
    assert find(acme, "printer fire extinguisher").total == 0


def test_requester_tags_and_number_are_searchable(ctx, acme):
    ticket = make_ticket(acme, subject="Cannot log in", requester_name="Quinn Okoro",
                         requester_email="quinn@bigcorp.example", tags=["sso", "vip"])
    assert numbers(find(acme, "okoro")) == [ticket.number]
    assert numbers(find(acme, "bigcorp")) == [ticket.number]
    assert numbers(find(acme, "vip")) == [ticket.number]
    assert numbers(find(acme, str(ticket.number))) == [ticket.number]
    hit = find(acme, "quinn").items[0]
    assert "<mark>Quinn</mark>" in hit.requester_name


def test_highlights_escape_html_in_comments_and_tickets(ctx, acme):
    number = make_ticket(acme, subject="<img src=x onerror=alert(1)> broken", description="<b>bold</b> broken").number
    reply(acme, number, "<script>alert('xss')</script> the widget is broken again", public=False)
    hit = find(acme, "broken").items[0]
    assert "<img" not in hit.subject and "&lt;img src=x onerror=alert(1)&gt; <mark>broken</mark>" == hit.subject
    assert "<b>" not in hit.snippet and "&lt;b&gt;bold&lt;/b&gt; <mark>broken</mark>" == hit.snippet
    comment = find_comments(acme, "widget broken").items[0]
    assert "<script>" not in comment.snippet
    assert comment.snippet.startswith("&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt; the <mark>widget</mark>")
    assert comment.public is False and comment.ticket_number == number


def test_filters_status_priority_assignee_and_dates(ctx, acme):
    urgent = make_ticket(acme, subject="Server down", priority="urgent", assignee_id=acme.agent.id).number
    low = make_ticket(acme, subject="Server slow", priority="low").number
    with acme.uow() as uow:
        ticket_service.update_ticket(uow, low, {"status": "pending"})
        uow.commit()
    assert numbers(find(acme, "server", priorities=["urgent"])) == [urgent]
    assert numbers(find(acme, "server", statuses=["pending"])) == [low]
    assert numbers(find(acme, "server", statuses=["new", "open"])) == [urgent]
    assert numbers(find(acme, "server", assignee_id=acme.agent.id)) == [urgent]
    assert numbers(find(acme, "server", unassigned=True)) == [low]
    today = utcnow().date()
    assert find(acme, "server", created_from=today - timedelta(days=1), created_to=today + timedelta(days=1)).total == 2
    assert find(acme, "server", created_from=today + timedelta(days=2)).total == 0
    assert find(acme, "server", created_to=today - timedelta(days=2)).total == 0


def test_comment_filters_follow_the_ticket_and_the_internal_flag(ctx, acme):
    number = make_ticket(acme, subject="Login trouble").number
    public = reply(acme, number, "Have you tried the reset link?")
    note = reply(acme, number, "Customer tried the reset link twice", public=False)
    assert {h.id for h in find_comments(acme, "reset link").items} == {public.id, note.id}
    assert [h.id for h in find_comments(acme, "reset link", visibility="internal").items] == [note.id]
    assert [h.id for h in find_comments(acme, "reset link", visibility="public").items] == [public.id]
    # the agent's public reply opened the ticket; its comments follow the ticket's status changes
    assert find_comments(acme, "reset link", statuses=["open"]).total == 2
    with acme.uow() as uow:
        ticket_service.update_ticket(uow, number, {"status": "solved", "priority": "high"})
        uow.commit()
    assert find_comments(acme, "reset link", statuses=["open"]).total == 0
    assert find_comments(acme, "reset link", statuses=["solved"], priorities=["high"]).total == 2


def test_tenants_never_see_each_other(ctx, acme, globex):
    mine = make_ticket(acme, subject="Shared secret word zanzibar").number
    theirs = make_ticket(globex, subject="Shared secret word zanzibar").number
    reply(globex, theirs, "zanzibar in a comment")
    assert numbers(find(acme, "zanzibar")) == [mine]
    assert find(acme, "zanzibar").total == 1
    assert find_comments(acme, "zanzibar").total == 0
    assert find_comments(globex, "zanzibar").total == 1
    assert numbers(find(globex, "zanzibar")) == [theirs]


def test_an_edit_reaches_the_index_through_the_queue(ctx, acme):
    number = make_ticket(acme, subject="Keyboard sticky").number
    with acme.uow() as uow:
        ticket_service.update_ticket(uow, number, {"subject": "Mouse unresponsive", "tags": ["hardware"]})
        uow.commit()
    assert find(acme, "keyboard").total == 0
    assert numbers(find(acme, "mouse")) == [number]
    assert numbers(find(acme, "hardware")) == [number]
    handled = db.session.scalar(select(func.count()).select_from(ProcessedEvent)
                                .where(ProcessedEvent.handler == "search_sql"))
    assert handled >= 2  # created, updated (each event once)


def test_deletes_reach_the_index_through_the_queue(ctx, acme):
    number = make_ticket(acme, subject="Obsolete request gizmo").number
    comment = reply(acme, number, "gizmo details in a reply")
    assert find_comments(acme, "gizmo").total == 1
    with acme.uow() as uow:  # what a delete service does: remove the row, emit the event
        uow.session.delete(uow.session.get(Comment, comment.id))
        uow.emit("comment.deleted", {"ticket": {"number": number}, "comment": {"id": comment.id}})
        uow.commit()
    assert find_comments(acme, "gizmo").total == 0
    assert find(acme, "gizmo").total == 1
    with acme.uow() as uow:
        uow.session.delete(uow.tickets.get(number))
        uow.emit("ticket.deleted", {"ticket": {"number": number}})
        uow.commit()
    assert find(acme, "gizmo").total == 0
    assert db.session.scalar(select(func.count()).select_from(SearchTicket)) == 0


def test_each_event_is_indexed_once(ctx, acme):
    make_ticket(acme, subject="Once only")
    event_id = db.session.scalar(select(OutboxEvent.event_id).where(OutboxEvent.event_type == "ticket.created"))
    db.session.execute(OutboxEvent.__table__.update().values(processed_at=None))
    db.session.commit()
    assert events.process_event(event_id) == 0  # every handler already recorded it
    rows = db.session.scalar(select(func.count()).select_from(ProcessedEvent)
                             .where(ProcessedEvent.event_id == event_id, ProcessedEvent.handler == "search_sql"))
    assert rows == 1


@pytest.mark.parametrize("text", NASTY)
def test_nasty_input_never_errors(ctx, acme, text):
    make_ticket(acme, subject="Printer NEAR the door: AND/OR \"quoted\" -minus")
    if not text.strip():
        with pytest.raises(ValidationFailed):
            find(acme, text)
        return
    if len(text.strip()) > 200:
        with pytest.raises(ValidationFailed):
            find(acme, text)
        return
    page = find(acme, text)
    assert page.total >= 0
    assert find_comments(acme, text).total >= 0


def test_validation(ctx, acme):
    for bad in (dict(text=""), dict(text="   "), dict(text="x" * 201), dict(text="a", statuses=["nope"]),
                dict(text="a", priorities=["meh"]), dict(text="a", limit=0), dict(text="a", limit=101),
                dict(text="a", page=0), dict(text="a", created_from=date(2026, 2, 1), created_to=date(2026, 1, 1))):
        with pytest.raises(ValidationFailed):
            search_tickets(acme.uow(), SearchQuery(**bad))
    with pytest.raises(ValidationFailed):
        search_tickets(acme.uow(), SearchQuery(text="a", visibility="internal"))


def test_pages_of_a_common_query_cover_every_match_once(ctx, acme, monkeypatch):
    monkeypatch.setattr(sql_backend, "RANK_WINDOW", 3)  # both SQL backends rank only the 3 newest here
    made = {make_ticket(acme, subject=f"Common word {i}").number for i in range(7)}
    seen = []
    for page_number in (1, 2, 3):
        page = search_tickets(acme.uow(), SearchQuery(text="common", page=page_number, limit=3))
        assert page.total == 7
        seen.extend(numbers(page))
    assert sorted(seen) == sorted(made)


@pytest.mark.parametrize("others", [0, 40], ids=["matches-dense", "matches-sparse"])
def test_a_common_query_ranks_its_newest_matches_then_lists_the_rest_newest_first(ctx, acme, globex, monkeypatch,
                                                                                   sql_counter, others):
    """Past RANK_WINDOW matches, only the newest are scored (both SQL backends): ranking every one of
    tens of thousands of matches cost more than it told (docs/performance.md). On PostgreSQL the
    newest are read backwards along the primary key when matches are dense (7 of 7 documents), and
    through the GIN index when they are not (7 of 47), or when filters apply, or when a deep page
    needs more rows than the matches: the same answers either way, and another workspace's newer
    matches never among them."""
    statements = sql_counter

    def read_backwards(seen) -> bool:
        return any("ts_match_vq" in sql for sql in seen)

    postgresql = db.engine.dialect.name == "postgresql"
    monkeypatch.setattr(sql_backend, "RANK_WINDOW", 3)
    for i in range(others):
        make_ticket(acme, subject=f"Unrelated matter {i}")
    made = [make_ticket(acme, subject=f"Common word {i}").number for i in range(7)]
    for i in range(5):  # newer documents of another workspace, matching too
        make_ticket(globex, subject=f"Common word elsewhere {i}")
    with statements() as seen:
        first = search_tickets(acme.uow(), SearchQuery(text="common", page=1, limit=3))
    assert read_backwards(seen) == (postgresql and others == 0)
    assert sorted(numbers(first)) == sorted(made[-3:]) and first.total == 7
    assert all(hit.score is not None for hit in first.items)
    with statements() as seen:
        second = search_tickets(acme.uow(), SearchQuery(text="common", page=2, limit=3))
    assert read_backwards(seen) == (postgresql and others == 0)  # 6 rows needed: 7² > 6 × 7
    assert numbers(second) == made[3:0:-1]  # the next three, newest first, unranked
    assert all(hit.score is None for hit in second.items)
    with statements() as seen:
        third = search_tickets(acme.uow(), SearchQuery(text="common", page=3, limit=3))
    assert not read_backwards(seen)  # 9 rows needed: 7² < 9 × 7, the index is cheaper
    assert numbers(third) == made[:1]
    straddling = search_tickets(acme.uow(), SearchQuery(text="common", page=1, limit=5))
    assert sorted(numbers(straddling)[:3]) == sorted(made[-3:]) and numbers(straddling)[3:] == made[3:1:-1]
    with statements() as seen:
        filtered = search_tickets(acme.uow(), SearchQuery(text="common", page=2, limit=3,
                                                          priorities=["low", "normal", "high", "urgent"]))
    assert not read_backwards(seen)  # filtered matches may all be old: always the index
    assert numbers(filtered) == made[3:0:-1]


def test_reindex_indexes_rows_imported_in_bulk(ctx, acme):
    from app.cli.bulk_import import import_tickets

    import_tickets(acme.tenant, 30, seed=7)  # Core inserts, no outbox events
    assert db.session.scalar(select(func.count()).select_from(SearchTicket)) == 0
    result = sync.reindex_tenant(acme.tenant)
    assert (result.tickets, result.comments) == (30, 90)
    subject = db.session.scalar(select(Ticket.subject).where(Ticket.tenant_id == acme.tenant.id).limit(1))
    assert find(acme, subject.split()[0]).total >= 1
    assert sync.reindex_tenant(acme.tenant).tickets == 30  # again: same documents, nothing doubled
    assert db.session.scalar(select(func.count()).select_from(SearchComment)) == 90


def test_incremental_sync_catches_up_only_what_was_missed(ctx, acme):
    number = make_ticket(acme, subject="Indexed normally").number
    reply(acme, number, "a normal reply")
    tenant_id = acme.tenant.id
    # rows the index never heard of, a document whose row is gone, a stale status
    now = utcnow()
    db.session.execute(insert(Ticket.__table__).values(
        tenant_id=tenant_id, number=999, subject="Sneaked in quietly", description="", status="open", priority="normal",
        requester_name="X", requester_email="x@example.com", created_at=now, updated_at=now))
    db.session.execute(SearchTicket.__table__.insert().values(
        id=(tenant_id << 32) | 777777, tenant_id=tenant_id, ticket_id=777777, number=5555, status="open", priority="normal",
        created_at=now, updated_at=now, indexed_at=now, subject="ghost", description="", people="", tags="", ref="5555"))
    db.session.execute(SearchComment.__table__.update().values(status="closed"))
    db.session.commit()
    assert find(acme, "ghost").total == 1 and find(acme, "sneaked").total == 0

    result = sync.sync_tenant(acme.tenant)
    assert result.tickets == 1 and result.removed == 1
    assert find(acme, "sneaked").total == 1 and find(acme, "ghost").total == 0
    assert find_comments(acme, "normal", statuses=["open"]).total == 1
    again = sync.sync_tenant(acme.tenant)
    assert (again.tickets, again.comments, again.removed) == (0, 0, 0)


def maintained(table: str) -> tuple:
    """When PostgreSQL last analyzed and last vacuumed ``table`` by hand (not autovacuum)."""
    return tuple(db.session.execute(text("SELECT last_analyze, last_vacuum FROM pg_stat_user_tables"
                                         " WHERE relname = :t"), {"t": table}).one())


def gin_pending_pages() -> dict[str, int]:
    """Each search GIN index's pending-list pages, merged now: what every search would have read whole."""
    names = list(db.session.scalars(text(
        "SELECT x.relname FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid"
        " JOIN pg_am a ON a.oid = x.relam AND a.amname = 'gin'"
        " WHERE i.indrelid IN ('search_tickets'::regclass, 'search_comments'::regclass) ORDER BY 1")))
    assert names == ["ix_search_comments_tsv", "ix_search_tickets_tsv"]
    pages = {name: db.session.scalar(text("SELECT gin_clean_pending_list(CAST(:n AS regclass))"), {"n": name})
             for name in names}
    db.session.commit()
    return pages


def test_bulk_import_and_reindex_leave_their_tables_vacuumed_and_analyzed_on_postgresql(ctx, acme):
    """Planner statistics after a bulk write, and no GIN pending list (every search would read it
    whole) nor dead documents left for an autovacuum that may never come (app/repositories/statistics.py)."""
    from app.cli.bulk_import import import_tickets

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's plans are kept without sqlite_stat1 (app/repositories/statistics.py)")
    tables = ("tickets", "comments", "search_tickets", "search_comments")
    before = {t: maintained(t) for t in tables}
    db.session.commit()
    import_tickets(acme.tenant, 40, seed=5)
    sync.reindex_tenant(acme.tenant)
    for table in tables:
        for earlier, now in zip(before[table], maintained(table)):
            assert now is not None and (earlier is None or now > earlier), table
    assert set(gin_pending_pages().values()) == {0}


def test_postgresql_plans_the_search_with_its_tsquery_folded_to_a_constant(ctx, acme, sql_counter):
    """With the configuration bound as a cast (only a stable function), PostgreSQL kept
    ``to_tsquery(...)`` in the plan, guessed the number of matches and chose parallel
    scans for two common words: 10-12 ms instead of 1.8. With the words bound as a
    parameter, the generic plan of a statement psycopg had prepared could not know
    them: 25 ms instead of 1.6, and one that did not know the tenant, window and page read 662
    matches backwards: 16 ms instead of 3.5 (docs/performance.md). So all of it is in the SQL."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's FTS5 MATCH takes the query as it is")
    for subject in ("Refund missing for invoice 77", "Refund for invoice 78", "Printer on fire"):
        make_ticket(acme, subject=subject)
    reply(acme, 1, "the refund invoice went out")
    with sql_counter() as statements:
        assert find(acme, "refund invoi").total == 2 and find_comments(acme, "refund invoice").total == 1
    searching = [statement for statement in statements if "to_tsquery" in statement]
    assert len(searching) == 4  # count and ranking, tickets and comments
    with db.engine.connect() as conn:
        for statement in searching:
            assert "'refund'" in statement  # no plan of this statement, generic or not, guesses them
            assert "%(" not in statement  # nor the tenant, the window or the page: a generic plan knows it all
            plan = "\n".join(conn.exec_driver_sql("EXPLAIN (VERBOSE) " + statement).scalars())
            assert "::tsquery" in plan and "to_tsquery" not in plan, plan
