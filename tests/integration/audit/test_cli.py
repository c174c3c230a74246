"""flask audit verify / prune, run through Flask's CLI runner."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, update

from app.extensions import db
from app.models import AuditLog
from app.repositories import unit_of_work as uow_module
from tests.conftest import make_ticket, make_workspace


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        with app.app_context():  # `flask` pushes one itself; the test runner does not
            return runner.invoke(args=list(args))

    return invoke


def _sql(app, stmt) -> None:
    with app.app_context():
        db.session.execute(stmt)
        db.session.commit()
        db.session.remove()


def test_verify_prints_rows_and_head_for_every_workspace(app, acme, globex, run, audit_rows):
    result = run("audit", "verify")
    assert result.exit_code == 0, result.output
    acme_head, globex_head = audit_rows(acme)[-1], audit_rows(globex)[-1]
    assert f"acme: 4 rows checked, head seq {acme_head.seq} {acme_head.hash}" in result.output
    assert f"globex: 4 rows checked, head seq {globex_head.seq} {globex_head.hash}" in result.output
    assert "All chains intact." in result.output


def test_verify_of_one_workspace(acme, globex, run):
    result = run("audit", "verify", "--tenant", "globex")
    assert result.exit_code == 0 and "globex:" in result.output and "acme:" not in result.output
    unknown = run("audit", "verify", "--tenant", "nope")
    assert unknown.exit_code != 0 and "No workspace 'nope'" in unknown.output


def test_verify_exits_1_naming_the_first_broken_row(app, acme, globex, run, audit_rows):
    victim = audit_rows(acme)[2]
    _sql(app, update(AuditLog).where(AuditLog.id == victim.id).values(actor_label="mallory@acme.test"))
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert f"acme: BROKEN at row id {victim.id}, seq 3: hash mismatch" in result.output
    assert "globex: 4 rows checked" in result.output  # the others are still checked and reported
    assert run("audit", "verify", "--tenant", "globex").exit_code == 0


def test_verify_exits_1_for_a_deleted_row_and_a_truncated_tail(app, acme, run, audit_rows):
    with app.app_context():
        for _ in range(3):
            make_ticket(acme)
    rows = audit_rows(acme)
    _sql(app, delete(AuditLog).where(AuditLog.id == rows[-1].id))
    result = run("audit", "verify", "--tenant", "acme")
    assert result.exit_code == 1 and f"seq {rows[-1].seq} (missing)" in result.output
    assert "tail truncated" in result.output
    _sql(app, delete(AuditLog).where(AuditLog.id == rows[2].id))
    result = run("audit", "verify", "--tenant", "acme")
    assert result.exit_code == 1 and f"row id {rows[3].id}, seq 4: seq gap" in result.output


def test_prune_archives_old_rows_and_verify_still_passes(app, run, tmp_path, monkeypatch, audit_rows):
    monkeypatch.setattr(uow_module, "utcnow", lambda: datetime(2020, 1, 1, tzinfo=timezone.utc))
    with app.app_context():
        acme = make_workspace("acme", "Acme")
        make_ticket(acme)
    monkeypatch.undo()
    with app.app_context():
        make_ticket(acme)
        globex = make_workspace("globex", "Globex")
    old = audit_rows(acme)[:5]

    result = run("audit", "prune", "--before", "2021-01-01", "--export-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    archive = tmp_path / "audit-acme-before-2021-01-01.jsonl"
    assert f"acme: archived 5 rows (seq 1–5) to {archive}; checkpoint at seq 7" in result.output
    assert "globex: nothing written before 2021-01-01" in result.output
    assert [json.loads(line)["id"] for line in archive.read_text().splitlines()] == [r.id for r in old]
    assert [(r.seq, r.action) for r in audit_rows(acme)] == [(6, "CREATE"), (7, "CHECKPOINT")]
    assert len(audit_rows(globex)) == 4

    verify = run("audit", "verify")
    assert verify.exit_code == 0, verify.output
    assert "acme: 2 rows checked (from seq 6, earlier rows pruned)" in verify.output

    again = run("audit", "prune", "--before", "2021-01-01", "--tenant", "acme", "--export-dir", str(tmp_path))
    assert again.exit_code == 0 and "acme: nothing written before 2021-01-01" in again.output


def test_prune_refuses_a_future_date_and_needs_before(run, acme, tmp_path):
    future = run("audit", "prune", "--before", "2999-01-01", "--export-dir", str(tmp_path))
    assert future.exit_code != 0 and "future" in future.output
    assert run("audit", "prune").exit_code != 0
    assert run("audit", "prune", "--before", "01/02/2020").exit_code != 0
    assert not list(tmp_path.iterdir())
