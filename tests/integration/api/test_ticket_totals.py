"""Queue and API list totals are remembered per process (repositories/ticket_counts.py), and stay exact:
every kind of change that moves a count also moves the key it is remembered under."""
from __future__ import annotations

import pytest

from app.repositories import ticket_counts
from app.services import bulk as bulk_service
from app.services import tickets as ticket_service
from tests.conftest import make_ticket


def total(api, **query) -> int:
    response = api.get("/api/v1/tickets", query_string=query)
    assert response.status_code == 200, response.json
    return response.json["pagination"]["total"]


@pytest.fixture
def counted(sql_counter):
    """counted(api, **query) → (total, whether a COUNT query ran for it)."""

    def ask(api, **query) -> tuple[int, bool]:
        with sql_counter() as statements:
            value = total(api, **query)
        return value, any("count(" in s.lower() for s in statements)

    return ask


def test_a_total_is_counted_once_then_remembered(app, acme, acme_api, counted):
    ticket_counts.forget_all()
    with app.app_context():
        for _ in range(3):
            make_ticket(acme)
    assert counted(acme_api, status="new") == (3, True)
    assert counted(acme_api, status="new") == (3, False)  # remembered
    assert counted(acme_api, status="open") == (0, True)  # another filter, another count


def test_every_change_gives_a_fresh_exact_total(app, acme, acme_api):
    with app.app_context():
        numbers = [make_ticket(acme).number for _ in range(4)]
    assert total(acme_api, status="new") == 4
    assert total(acme_api, priority="urgent") == 0

    with app.app_context():  # one ticket's field
        with acme.uow(acme.agent) as uow:
            ticket_service.update_ticket(uow, numbers[0], {"status": "open", "priority": "urgent"})
            uow.commit()
    assert total(acme_api, status="new") == 3
    assert total(acme_api, priority="urgent") == 1

    with app.app_context():  # a bulk change
        with acme.uow(acme.agent) as uow:
            bulk_service.bulk_update(uow, bulk_service.BulkChanges(status="pending"), numbers=numbers[1:3])
            uow.commit()
    assert total(acme_api, status="new") == 1
    assert total(acme_api, status="pending") == 2

    with app.app_context():  # a new ticket, and tags
        make_ticket(acme, tags=["vip"])
        with acme.uow(acme.agent) as uow:
            ticket_service.update_ticket(uow, numbers[3], {"tags": ["vip"]})
            uow.commit()
    assert total(acme_api, status="new") == 2
    assert total(acme_api, tag="vip") == 2
    assert total(acme_api) == 5


def test_the_store_can_be_turned_off(app, acme, acme_api, monkeypatch, counted):
    monkeypatch.setattr(ticket_counts, "_enabled", False)  # what create_app sets from TICKET_COUNT_CACHE=false
    with app.app_context():
        make_ticket(acme)
    assert counted(acme_api) == (1, True)
    assert counted(acme_api) == (1, True)


def test_another_tenants_change_does_not_touch_this_total(app, acme, globex, acme_api, globex_api, counted):
    with app.app_context():
        make_ticket(acme)
    assert counted(acme_api) == (1, True)
    with app.app_context():
        make_ticket(globex)
        make_ticket(globex)
    assert counted(acme_api) == (1, False)  # still remembered: globex's change is not acme's
    assert counted(globex_api) == (2, True)
