"""Tickets are dumped by schemas.ticket_json, from list rows (TicketRow, the queue's Core read) and from
ORM tickets (single reads) alike; TicketSchema's fields document the result. Both sources must give the
same JSON, and the JSON must be what the schema (and so the OpenAPI document) says, whatever the SLA
clocks and tags hold."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from app.api.schemas import TicketSchema, ticket_json


def _vary_sla(app, acme, numbers):
    """Each ticket a different SLA picture: none, at risk (a warning passed), done, breached, paused."""
    from app.extensions import db
    from app.models import Ticket

    t0 = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc)
    pictures = [
        {"sla_state": "none", "sla_due_at": None, "first_response_due_at": None, "resolution_due_at": None},
        {"sla_state": "ok", "sla_due_at": t0 + timedelta(days=900), "first_response_due_at": t0,
         "resolution_due_at": t0 + timedelta(days=900), "reply_warn_at": t0 - timedelta(hours=1)},
        {"sla_state": "done", "first_response_at": t0, "first_response_met": True, "resolved_at": t0,
         "resolution_met": False, "resolution_due_at": t0 - timedelta(minutes=5)},
        {"sla_state": "ok", "sla_due_at": t0, "first_response_due_at": t0},  # deadline passed: breached now
        {"sla_state": "paused", "first_response_met": False},
    ]
    with app.app_context():
        for number, values in zip(numbers, pictures):
            db.session.execute(update(Ticket).where(Ticket.tenant_id == acme.tenant.id,
                                                        Ticket.number == number).values(**values))
        db.session.commit()


def test_list_items_equal_single_reads(acme_api, acme, app, tickets_in):
    numbers = tickets_in(acme, 2, tags=["zeta", "alpha", "mid"], assignee_id=acme.agent.id, priority="urgent")
    numbers += tickets_in(acme, 3, description="Line one\n\n**bold** <b>raw</b> “quotes”")
    _vary_sla(app, acme, numbers)

    listed = acme_api.get("/api/v1/tickets?limit=100").json["data"]
    cursored = acme_api.get("/api/v1/tickets?limit=100&cursor=").json["data"]

    assert sorted(t["number"] for t in listed) == sorted(numbers)
    states = set()
    for item in listed:
        single = acme_api.get(f"/api/v1/tickets/{item['number']}").json
        assert item == single  # every key and value, formats included
        states.add(item["slaState"])
    assert states == {"none", "at_risk", "done", "breached", "paused"}
    assert cursored == listed
    assert [t["tags"] for t in listed if t["number"] in numbers[:2]] == [["alpha", "mid", "zeta"]] * 2


def test_ticket_json_is_what_the_schema_documents(acme, app, tickets_in):
    from app.repositories.tickets import TicketFilter
    from app.services.tickets import get_ticket, list_tickets

    numbers = tickets_in(acme, 5, tags=["b", "a"])
    _vary_sla(app, acme, numbers)
    schema = TicketSchema()
    documented = {field.data_key for field in schema.fields.values()}
    with app.app_context(), acme.uow() as uow:
        rows = list_tickets(uow, TicketFilter(), limit=10, detail=True).items
        assert len(rows) == 5
        for row in rows:
            dumped = ticket_json(row)
            assert set(dumped) == documented  # no key the document lacks, none it promises missing
            assert schema.validate(dumped) == {}  # each value of the documented type and choices
            assert schema.dump(row) == dumped == ticket_json(get_ticket(uow, row.number))
