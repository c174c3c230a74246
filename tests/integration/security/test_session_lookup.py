"""The signed-in lookups: one Core statement whose row becomes the credential, user and tenant objects.

Every page request runs it first for its session, every API request for its token
(app/repositories/signed_in.py). The objects it builds must be what the
ORM's own query would have returned: the same values, attached to the session as loaded and unchanged,
so reading them costs no statement and changing them writes an UPDATE, not an INSERT.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import inspect, select

from app.extensions import db
from app.models import ApiToken, Tenant, User, UserSession
from app.repositories.security import session_by_hash
from app.repositories.tenancy import token_by_hash
from app.services.people import hash_token
from tests.conftest import login
from tests.integration.security.conftest import session_row_id


def _key_hash(app, user) -> str:
    client = app.test_client()
    assert login(client, user).status_code == 302
    return session_row_id(app, client)


def _columns(instance) -> dict:
    return {attr.key: getattr(instance, attr.key) for attr in inspect(type(instance)).column_attrs}


def _orm_loaded(record) -> tuple[dict, dict, dict]:
    """The three rows as the ORM loads them, each object fetched by its own query."""
    user = db.session.get(User, record.user_id)
    return _columns(record), _columns(user), _columns(db.session.get(Tenant, user.tenant_id))


def test_the_row_becomes_the_objects_the_orm_would_load(app, acme, sql_counter):
    key_hash = _key_hash(app, acme.agent)
    with app.app_context():
        expected = _orm_loaded(db.session.get(UserSession, key_hash))
    with app.app_context():
        with sql_counter() as statements:
            record = session_by_hash(db.session, key_hash)
            user, tenant = record.user, record.user.tenant
            found = _columns(record), _columns(user), _columns(tenant)
        assert len(statements) == 1  # the lookup, counted like any statement; nothing loaded later
        assert found == expected
        assert isinstance(record.created_at, datetime) and record.created_at.tzinfo is not None
        assert user.active is True and user.has_role("agent") and tenant.slug == acme.tenant.slug
        for instance in (record, user, tenant):
            state = inspect(instance)
            assert state.persistent and not state.modified
            assert db.session.identity_map.get(state.key) is instance
        assert not db.session.new and not db.session.dirty


def test_a_change_to_the_looked_up_user_is_an_update(app, acme):
    key_hash = _key_hash(app, acme.agent)
    with app.app_context():
        user = session_by_hash(db.session, key_hash).user
        user.name = "Renamed Agent"
        db.session.commit()  # an INSERT of a second row with this id would fail here
        assert user.name == "Renamed Agent"  # expired on commit, read again
    with app.app_context():
        assert db.session.scalars(select(User.name).where(User.email == acme.agent.email)).all() == ["Renamed Agent"]
        assert db.session.query(UserSession).filter_by(id=key_hash).count() == 1


def test_a_session_already_holding_the_user_gets_its_own_instance(app, acme):
    key_hash = _key_hash(app, acme.agent)
    with app.app_context():
        held = db.session.get(User, acme.agent.id)
        record = session_by_hash(db.session, key_hash)
        assert record.user is held  # the ORM query's answer: one instance per row in a session


def test_an_unknown_key_finds_nothing_and_attaches_nothing(app, acme):
    _key_hash(app, acme.agent)
    with app.app_context():
        assert session_by_hash(db.session, "0" * 64) is None
        assert len(db.session.identity_map) == 0


def test_a_page_request_is_signed_in_through_it(app, acme, sql_counter):
    client = app.test_client()
    login(client, acme.agent)
    client.get("/tickets")
    with sql_counter() as statements:
        response = client.get("/tickets")
    assert response.status_code == 200 and acme.agent.name.encode() in response.data
    with app.app_context():
        core = str(session_by_hash.core.compile(dialect=db.engine.dialect))
    # The Core statement, not the ORM query (its SELECT starts with the tenant's columns): a page
    # request starts with an empty session, so it takes the cheap path.
    assert statements.count(core) == 1, statements
    assert not any("user_sessions" in s for s in statements if s != core)


def test_an_api_token_is_found_the_same_way(app, acme, token_for, sql_counter):
    secret = token_for(acme, acme.lead)
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
        expected = _orm_loaded(token)
    with app.app_context():
        with sql_counter() as statements:
            token = token_by_hash(db.session, hash_token(secret))
            found = _columns(token), _columns(token.user), _columns(token.user.tenant)
        assert len(statements) == 1 and found == expected
        assert token.user.email == acme.lead.email and token.user.tenant.slug == acme.tenant.slug
        assert all(inspect(x).persistent and not inspect(x).modified for x in (token, token.user, token.user.tenant))
        token.name = "renamed"
        db.session.commit()
    with app.app_context():
        assert db.session.scalars(select(ApiToken.name).where(ApiToken.token_hash == hash_token(secret))).all() == [
            "renamed"]
        assert token_by_hash(db.session, hash_token("not a token")) is None
