"""Keyset cursors on the queue, and a constant number of SQL queries per list whatever its size."""
from __future__ import annotations

import pytest


def walk(api, **query) -> tuple[list[int], list[dict]]:
    """Follow nextCursor from the first cursor page; returns the numbers seen and each page's pagination."""
    seen, metas, cursor = [], [], ""
    while cursor is not None:
        response = api.get("/api/v1/tickets", query_string={**query, "cursor": cursor})
        assert response.status_code == 200, response.json
        seen += [t["number"] for t in response.json["data"]]
        metas.append(response.json["pagination"])
        cursor = response.json["pagination"]["nextCursor"]
    return seen, metas


def test_cursor_pages_walk_the_whole_queue(acme_api, acme, tickets_in):
    tickets_in(acme, 7)
    seen, metas = walk(acme_api, limit=3)
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    assert len(metas) == 3
    assert metas[0]["hasNext"] is True and metas[0]["total"] == 7
    assert metas[-1]["nextCursor"] is None and metas[-1]["hasNext"] is False


def test_offset_pages_have_no_cursor(acme_api, acme, tickets_in):
    tickets_in(acme, 2)
    assert "nextCursor" not in acme_api.get("/api/v1/tickets?limit=1").json["pagination"]


def test_cursor_paging_is_stable_while_tickets_are_added(acme_api, acme, tickets_in):
    tickets_in(acme, 6)
    first = acme_api.get("/api/v1/tickets?limit=2&cursor=").json
    assert [t["number"] for t in first["data"]] == [6, 5]

    tickets_in(acme, 3)  # 7, 8, 9: newer than everything, they go before the cursor
    cursor, seen = first["pagination"]["nextCursor"], [6, 5]
    while cursor:
        body = acme_api.get("/api/v1/tickets", query_string={"limit": 2, "cursor": cursor}).json
        seen += [t["number"] for t in body["data"]]
        cursor = body["pagination"]["nextCursor"]
    assert seen == [6, 5, 4, 3, 2, 1]  # no duplicate, no gap

    # the control: offset pages shift when tickets are added, which is why cursors exist
    assert [t["number"] for t in acme_api.get("/api/v1/tickets?limit=2&page=2").json["data"]] == [7, 6]


@pytest.mark.parametrize("sort", ["updated", "created", "priority"])
def test_cursor_respects_sort_and_filters(acme_api, acme, tickets_in, sort):
    tickets_in(acme, 2, priority="low")
    tickets_in(acme, 2, priority="urgent", tags=["vip"])
    tickets_in(acme, 2, priority="high")
    everything, _ = walk(acme_api, limit=4, sort=sort)
    assert everything == [t["number"] for t in acme_api.get(f"/api/v1/tickets?sort={sort}").json["data"]]
    vip, _ = walk(acme_api, limit=1, sort=sort, tag="vip")
    assert vip == [4, 3]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "W10", "WyJjcmVhdGVkIiwxLDJd", "eyJhIjoxfQ"])
def test_bad_cursor_is_422(acme_api, acme, tickets_in, cursor):
    tickets_in(acme, 1)
    response = acme_api.get("/api/v1/tickets", query_string={"cursor": cursor})
    assert response.status_code == 422, response.json
    assert response.json["code"] == 422
    assert list(response.json["errors"]["query"]) == ["cursor"]


def test_cursor_of_another_sort_is_422(acme_api, acme, tickets_in):
    tickets_in(acme, 3)
    cursor = acme_api.get("/api/v1/tickets?limit=1&cursor=&sort=created").json["pagination"]["nextCursor"]
    assert acme_api.get("/api/v1/tickets", query_string={"cursor": cursor, "sort": "created"}).status_code == 200
    response = acme_api.get("/api/v1/tickets", query_string={"cursor": cursor, "sort": "priority"})
    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == ["cursor"]


# -- no N+1 -----------------------------------------------------------------------------------
@pytest.fixture
def busy_queue(app, acme):
    """55 tickets, every one tagged, most assigned to different people (one transaction, for speed)."""
    from app.services.tickets import create_ticket

    people = [acme.agent.id, acme.lead.id, acme.admin.id, None]
    with app.app_context():
        with acme.uow() as uow:
            for i in range(55):
                create_ticket(uow, subject=f"Busy {i}", description="d", requester_name="R",
                              requester_email="r@example.com", assignee_id=people[i % 4], tags=[f"t{i % 5}", "bulk"])
            uow.commit()


@pytest.fixture
def busy_conversation(app, acme, tickets_in):
    """Ticket 1 with 55 comments by three people and the system (no author)."""
    from app.models import Comment
    from app.models.base import utcnow

    number = tickets_in(acme, 1)[0]
    authors = [acme.agent.id, acme.lead.id, acme.admin.id, None]
    with app.app_context():
        with acme.uow() as uow:  # rows written directly: this is about reading them back
            ticket = uow.tickets.get(number)
            for i in range(55):
                uow.tickets.add_comment(Comment(ticket_id=ticket.id, author_id=authors[i % 4], body=f"comment {i}",
                                                public=i % 2 == 0, created_at=utcnow()))
            uow.commit()
    return number


def queries_for(api, count_queries, path) -> tuple[int, dict]:
    api.get(path)  # warm up: the token's last use is recorded at most once a minute
    with count_queries() as statements:
        response = api.get(path)
    assert response.status_code == 200, response.json
    return len(statements), response.json


def test_ticket_list_runs_a_constant_number_of_queries(acme_api, busy_queue, count_queries):
    for extra in ("", "&cursor=", "&status=new&tag=bulk&sort=priority"):
        small, small_body = queries_for(acme_api, count_queries, f"/api/v1/tickets?limit=5{extra}")
        large, large_body = queries_for(acme_api, count_queries, f"/api/v1/tickets?limit=50{extra}")
        assert len(small_body["data"]) == 5 and len(large_body["data"]) == 50
        assert len({t["assigneeId"] for t in large_body["data"]}) == 4
        assert small == large, extra
        assert large <= 10, extra


def test_comment_list_runs_a_constant_number_of_queries(acme_api, busy_conversation, count_queries):
    path = f"/api/v1/tickets/{busy_conversation}/comments"
    small, small_body = queries_for(acme_api, count_queries, f"{path}?limit=5")
    large, large_body = queries_for(acme_api, count_queries, f"{path}?limit=50")
    assert len(small_body["data"]) == 5 and len(large_body["data"]) == 50
    assert len({(c["author"] or {}).get("id") for c in large_body["data"]}) == 4
    assert small == large
    assert large <= 10


def test_due_cursor_walks_from_deadlines_to_tickets_without_one(acme_api, acme, tickets_in):
    """Sort "due" is ascending with tickets without a running clock last: the cursor crosses from keyed rows
    to NULL keys (its own kind of cursor condition) and walks those by id, with no gap or duplicate."""
    tickets_in(acme, 7, priority="urgent")
    for number in (5, 3):  # solved: the clock stops, no deadline
        assert acme_api.patch(f"/api/v1/tickets/{number}", json={"status": "solved"}).status_code == 200
    everything = [t["number"] for t in acme_api.get("/api/v1/tickets?sort=due").json["data"]]
    assert sorted(everything) == list(range(1, 8))
    assert everything[-2:] == [3, 5]  # last, by id
    for limit in (1, 2, 3):
        walked, _ = walk(acme_api, limit=limit, sort="due")
        assert walked == everything, limit


def test_kept_list_statements_carry_no_request_values(app, acme_api, acme, tickets_in):
    """The list statements are kept per filter shape and shared by every tenant (repositories/tickets.py,
    _PAGE_STATEMENTS): a value left bound in one would be the next request's, whoever asks. Each kept
    statement's request parameters are placeholders that must be given at execution."""
    from sqlalchemy.sql.elements import BindParameter
    from sqlalchemy.sql.visitors import iterate

    from app.repositories.tickets import _PAGE_STATEMENTS, SLA_FILTERS, TicketFilter

    numbers = tickets_in(acme, 3, tags=["vip"], priority="high")
    for query in ("", "?status=new&priority=high&tag=vip&q=Ticket", f"?assignee={acme.agent.id}",
                  "?sort=due&cursor=", "?page=2&limit=1"):
        assert acme_api.get("/api/v1/tickets" + query).status_code == 200, query
    with app.app_context(), acme.uow() as uow:  # the queue's SLA views (not API filters)
        for sla in SLA_FILTERS:
            assert len(uow.tickets.list(TicketFilter(sla=sla, sort="priority"), 1, 20).items) <= 3
    first = acme_api.get("/api/v1/tickets?limit=1&cursor=").json
    acme_api.get("/api/v1/tickets", query_string={"limit": 1, "cursor": first["pagination"]["nextCursor"]})
    assert numbers and len(_PAGE_STATEMENTS) >= 8
    request_values = {"tenant_id", "statuses", "priorities", "assignee_id", "tag", "subject_like", "now",
                      "due_soon_until", "page_limit", "page_offset", "after_key", "after_id"}
    seen = set()
    for stmt in _PAGE_STATEMENTS.values():
        for bind in (e for e in iterate(stmt) if isinstance(e, BindParameter)):
            if bind.key in request_values:
                seen.add(bind.key)
                assert bind.required and bind.value is None, bind.key
    assert seen == request_values
