"""Who is signed in: a credential's row with its user and tenant, found by a hash, on every request.

A page request finds its server-side session (repositories/security.py), an API request its token
(repositories/tenancy.py), before anything else, and for a remembered list page that lookup is the
request's only statement. Through the ORM's query, the Session's transaction and the loading machinery
cost more than the statement itself (about 200 µs in all, of a 1.37 ms queue page). So the statement
runs on a Core connection of its own (still traced and counted like every statement, and a plain read
on PostgreSQL), and its one row is put together here into the three mapped objects, attached to the
session as loaded and unchanged, as the ORM's loader leaves them: the queue page fell to 1.28 ms
(docs/performance.md, "Fixes", session 9).

A session that already holds objects (a test's, a view that looked someone up first) gets the ORM
query instead, which answers with the instances the session has. Every column of the three tables is
read, so no attribute loads later; tests/integration/security/test_session_lookup.py compares the
objects with the ORM's own load.
"""
from __future__ import annotations

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session, contains_eager, make_transient_to_detached

from app.models import Tenant, User


class SignedInLookup:
    """``model`` (a credential with a ``user`` relationship) found by ``key``, a unique column of it."""

    def __init__(self, model, key):
        self.models = (model, User, Tenant)
        credential, users, tenants = (m.__table__ for m in self.models)
        self.core = (select(*credential.c, *users.c, *tenants.c)
                     .join(users, users.c.id == credential.c.user_id)
                     .join(tenants, tenants.c.id == users.c.tenant_id)
                     .where(key == bindparam("key")))
        # For each column of the row: which object, which attribute (an attribute may be named apart).
        self.plan = tuple((index, inspect(m).get_property_by_column(column).key)
                          for index, m in enumerate(self.models) for column in m.__table__.c)
        self.managers = tuple(inspect(m).class_manager for m in self.models)
        self.orm = (select(model).join(model.user).join(User.tenant)
                    .options(contains_eager(model.user).contains_eager(User.tenant))
                    .where(key == bindparam("key")))

    def __call__(self, session: Session, value: str):
        if session.identity_map or session.new:
            return session.scalar(self.orm, {"key": value})
        with session.get_bind().connect() as connection:
            row = connection.execute(self.core, {"key": value}).first()
        if row is None:
            return None
        credential, user, tenant = objects = tuple(manager.new_instance() for manager in self.managers)
        for (index, attribute), column_value in zip(self.plan, row):
            objects[index].__dict__[attribute] = column_value  # where the ORM's loader puts a loaded value
        user.__dict__["tenant"] = tenant
        credential.__dict__["user"] = user
        for instance in objects:
            make_transient_to_detached(instance)  # its identity from its primary key: loaded, unchanged
        session.add(credential)  # and, by cascade, its user and tenant
        return credential
