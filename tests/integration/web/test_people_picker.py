"""The assignee picker's people (UserRepository.choices), remembered until the workspace's next audited
change: the list follows every change to the people, and costs no query while nothing changed."""
from __future__ import annotations

import re

from app.services import people


def _picker(client) -> list[str]:
    html = client.get("/tickets").get_data(as_text=True)
    select = re.search(r'<select id="filter-assignee".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select)


def _people_queries(statements) -> list[str]:
    return [s for s in statements if re.search(r"SELECT users\.id, users\.name\s+FROM users", s)]


def test_the_picker_follows_the_people(app, acme, agent_client):
    before = _picker(agent_client)
    assert acme.agent.name in before and "Newly Hired" not in before
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            hired = people.create_user(uow, email="hired@acme.example", name="Newly Hired",
                                       password="correct horse battery")
            uow.commit()
            hired_id = hired.id
    assert "Newly Hired" in _picker(agent_client)
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            people.set_active(uow, hired_id, False)
            uow.commit()
    assert _picker(agent_client) == before


def test_the_picker_is_read_once_per_change(app, acme, agent_client, sql_counter):
    _picker(agent_client)
    with sql_counter() as statements:
        _picker(agent_client)
    assert _people_queries(statements) == []
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            people.create_user(uow, email="hired@acme.example", name="Newly Hired", password="correct horse battery")
            uow.commit()
    with sql_counter() as statements:
        _picker(agent_client)
    assert len(_people_queries(statements)) == 1


def test_each_workspace_has_its_own_picker(app, acme, globex, agent_client, globex_client):
    assert acme.lead.name in _picker(agent_client)
    picker = _picker(globex_client)
    assert globex.lead.name in picker and acme.lead.name not in picker and acme.agent.name not in picker
