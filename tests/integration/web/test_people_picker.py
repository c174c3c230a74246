"""The assignee picker's people (UserRepository.choices), remembered until the workspace's next audited
change: the list follows every change to the people, and costs no query while nothing changed."""
from __future__ import annotations

import re

from app.services import people
from tests.conftest import make_ticket


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


def _options(html: str, select_id: str) -> list[tuple[str, bool, str]]:
    select = re.search(rf'<select id="{select_id}".*?</select>', html, re.S).group(0)
    return [(value, bool(selected), name) for value, selected, name
            in re.findall(r'<option value="(\d+)"( selected)?>([^<]*)</option>', select)]


def test_the_pickers_mark_the_chosen_person(app, acme, agent_client):
    with app.app_context():  # the bulk panel shows with tickets to change
        make_ticket(acme, assignee_id=acme.lead.id)
        make_ticket(acme, assignee_id=acme.agent.id)
    html = agent_client.get(f"/tickets?assignee={acme.lead.id}").get_data(as_text=True)
    filter_options = _options(html, "filter-assignee")
    assert [value for value, selected, _ in filter_options if selected] == [str(acme.lead.id)]
    assert not any(selected for _, selected, _ in _options(html, "bulk-assignee"))  # the bulk picker: none
    assert [name for _, _, name in _options(html, "bulk-assignee")] == [name for _, _, name in filter_options]
    other = _options(agent_client.get(f"/tickets?assignee={acme.agent.id}").get_data(as_text=True), "filter-assignee")
    assert [value for value, selected, _ in other if selected] == [str(acme.agent.id)]


def test_the_ticket_page_marks_the_assignee(app, acme, agent_client):
    with app.app_context():
        number = make_ticket(acme, assignee_id=acme.agent.id).number
    html = agent_client.get(f"/tickets/{number}").get_data(as_text=True)
    assert [value for value, selected, _ in _options(html, "panel-assignee") if selected] == [str(acme.agent.id)]


def test_a_new_person_and_their_escaped_name_show_at_once(app, acme, agent_client):
    with app.app_context():
        make_ticket(acme)
    before = _options(agent_client.get("/tickets").get_data(as_text=True), "bulk-assignee")  # kept now
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            people.create_user(uow, email="ana@acme.example", name="Ana <b>Lead</b> & co",
                               password="correct horse battery")
            uow.commit()
    html = agent_client.get("/tickets").get_data(as_text=True)
    assert "<b>Lead</b>" not in html
    for select_id in ("filter-assignee", "bulk-assignee"):
        names = [name for _, _, name in _options(html, select_id)]
        assert names.count("Ana &lt;b&gt;Lead&lt;/b&gt; &amp; co") == 1 and len(names) == len(before) + 1
