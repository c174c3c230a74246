"""search_audit, export_csv and the filter rules behind the page and the API."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import create_engine, select, text

from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditLog, Tenant
from app.repositories.audit import AuditFilter
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.audit import build_filter, export_csv, search_audit
from tests.conftest import make_ticket

PARIS = Tenant(name="P", slug="p", timezone="Europe/Paris")


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# -- filters ------------------------------------------------------------------------------------
def test_dates_cover_whole_days_in_the_workspace_time_zone():
    f = build_filter(PARIS, start="2024-07-01", end="2024-07-01")
    assert (f.start, f.end) == (_utc(2024, 6, 30, 22), _utc(2024, 7, 1, 22))  # CEST, UTC+2
    winter = build_filter(PARIS, start=date(2024, 1, 10), end=date(2024, 1, 11))
    assert (winter.start, winter.end) == (_utc(2024, 1, 9, 23), _utc(2024, 1, 11, 23))


def test_date_times_keep_their_offset_and_naive_ones_are_local():
    f = build_filter(PARIS, start="2024-07-01T10:00:00Z", end="2024-07-01T12:00:00+01:00")
    assert (f.start, f.end) == (_utc(2024, 7, 1, 10), _utc(2024, 7, 1, 11))
    with pytest.raises(ValidationFailed) as caught:
        build_filter(PARIS, start="2024-07-01T10:00:00Z", end="2024-07-01T10:00:00+05:00")
    assert caught.value.errors == {"end_date": ["Must be after the start date."]}
    naive = build_filter(PARIS, start="2024-07-01T10:00")
    assert naive.start == _utc(2024, 7, 1, 8)


def test_every_bad_field_is_named():
    with pytest.raises(ValidationFailed) as caught:
        build_filter(PARIS, start="yesterday", end="2024-02-30", ticket_number="12a", user_id="me",
                     entity_type="x" * 33)
    assert set(caught.value.errors) == {"start_date", "end_date", "ticket_number", "user_id", "entity_type"}


def test_end_must_be_after_start_and_blank_values_mean_no_filter():
    with pytest.raises(ValidationFailed) as caught:
        build_filter(PARIS, start="2024-05-02", end="2024-05-01")
    assert list(caught.value.errors) == ["end_date"]
    assert build_filter(PARIS, entity_type=" ", entity_id="", ticket_number="", user_id=None, action="",
                        start="", end="") == AuditFilter()
    assert build_filter(PARIS, action=" login_failed ", ticket_number=" 7 ").action == "LOGIN_FAILED"


# -- search --------------------------------------------------------------------------------------
def test_agents_may_not_search_or_export(acme, ctx):
    with pytest.raises(PermissionDenied):
        search_audit(acme.uow(acme.agent), AuditFilter())
    with pytest.raises(PermissionDenied):
        export_csv(acme.uow(acme.agent), AuditFilter())
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "EXPORT")) is None
    assert search_audit(acme.uow(acme.lead), AuditFilter()).total == 4
    assert search_audit(UnitOfWork(acme.tenant, Actor.system("cli")), AuditFilter()).total == 4


def test_search_is_newest_first_paged_and_limited_to_200(acme, ctx):
    for i in range(3):
        make_ticket(acme, subject=f"T{i}")
    page = search_audit(acme.uow(acme.lead), AuditFilter(), page=2, limit=3)
    assert [r.seq for r in page.items] == [4, 3, 2] and page.total == 7 and page.has_next
    assert search_audit(acme.uow(acme.lead), AuditFilter(), limit=200).limit == 200
    for bad in (dict(limit=201), dict(limit=0), dict(page=0)):
        with pytest.raises(ValidationFailed):
            search_audit(acme.uow(acme.lead), AuditFilter(), **bad)


def test_search_is_scoped_to_the_unit_of_works_tenant(acme, globex, ctx):
    make_ticket(acme)
    rows = search_audit(globex.uow(globex.lead), AuditFilter(), limit=200).items
    assert rows and {r.tenant_id for r in rows} == {globex.tenant.id}
    assert search_audit(globex.uow(globex.lead), AuditFilter(ticket_number=1)).total == 0


# -- export ----------------------------------------------------------------------------------------
def test_export_commits_its_audit_row_before_the_first_line(app, acme, ctx):
    make_ticket(acme)
    lines = export_csv(acme.uow(acme.lead), AuditFilter(entity_type="Ticket"))
    # Another connection sees the EXPORT row already: nothing has been streamed yet.
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.connect() as conn:
        exported = conn.execute(text("SELECT actor_id, changes FROM audit_logs WHERE action = 'EXPORT'")).all()
    other.dispose()
    assert len(exported) == 1 and exported[0][0] == acme.lead.id
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert rows[0][0] == "created_at" and len(rows) == 2  # header + the ticket's CREATE
    assert rows[1][3:7] == ["CREATE", "Ticket", rows[1][5], "1"]


def test_export_streams_in_chunks_without_loading_everything(acme, ctx, monkeypatch):
    from app.repositories import audit as audit_repo

    monkeypatch.setattr(audit_repo, "STREAM_CHUNK", 2)
    seen = []
    original = db.session.scalars

    def spy(stmt, *args, **kwargs):
        seen.append(stmt.get_execution_options().get("yield_per"))
        return original(stmt, *args, **kwargs)

    monkeypatch.setattr(db.session, "scalars", spy)
    lines = list(export_csv(acme.uow(acme.lead), AuditFilter()))
    assert 2 in seen
    assert len(lines) == 1 + 5  # header + 4 setup rows + the EXPORT row itself
