"""Parallel writers on PostgreSQL append to one unbroken chain per tenant."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Tenant, User
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.audit import verify_chain
from app.services.tickets import create_ticket

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                       reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://… to run "
                              "concurrent writers against real row locks"),
]

THREADS, TICKETS_EACH = 8, 10


def test_eight_threads_keep_one_contiguous_verifiable_chain(app, acme):
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                tenant = db.session.get(Tenant, acme.tenant.id)
                user = db.session.get(User, acme.agent.id)
                actor = Actor(type="user", id=user.id, label=user.email, user=user, ip_address=f"10.0.0.{n}")
                start.wait()
                for i in range(TICKETS_EACH):
                    with UnitOfWork(tenant, actor) as uow:
                        create_ticket(uow, subject=f"Writer {n} ticket {i}", description="x",
                                      requester_name="R", requester_email="r@example.com")
                        uow.commit()
                db.session.remove()
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    with app.app_context():
        tenant = db.session.get(Tenant, acme.tenant.id)
        seqs = list(db.session.scalars(select(AuditLog.seq).where(AuditLog.tenant_id == tenant.id)
                                       .order_by(AuditLog.seq)))
        setup_rows = 4  # tenant + three people
        total = setup_rows + THREADS * TICKETS_EACH
        assert seqs == list(range(1, total + 1))
        assert tenant.audit_seq == total
        report = verify_chain(db.session, tenant)
        assert report.ok, report.broken
        assert report.rows_checked == total
        assert tenant.ticket_seq == THREADS * TICKETS_EACH
        db.session.remove()
