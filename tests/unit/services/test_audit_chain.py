"""verify_chain finds edits, deletions, swaps and truncation; prune_before keeps chains verifiable."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import AuditLog, Tenant
from app.models.audit import GENESIS, chain_hash
from app.repositories import unit_of_work as uow_module
from app.services.audit import prune_before, verify_chain
from tests.conftest import make_ticket, make_workspace

SWAPPED = ("tenant_id", "actor_type", "actor_id", "actor_label", "action", "entity_type", "entity_id",
           "ticket_number", "changes", "ip_address", "user_agent", "request_id", "created_at", "prev_hash", "hash")


def _rows(ws) -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.tenant_id == ws.tenant.id).order_by(AuditLog.seq)))


def _tenant(ws) -> Tenant:
    db.session.expire_all()
    return db.session.get(Tenant, ws.tenant.id)


def _sql(stmt) -> None:
    db.session.execute(stmt)
    db.session.commit()


@pytest.fixture
def chain(acme, ctx):
    """acme with a few tickets: 4 setup rows + 4 ticket rows."""
    for i in range(4):
        make_ticket(acme, subject=f"Ticket {i}")
    return acme


# -- verification -----------------------------------------------------------------------------------
def test_intact_chain_verifies(chain, globex):
    report = verify_chain(db.session, _tenant(chain))
    tenant = _tenant(chain)
    assert report.ok and report.broken is None
    assert report.rows_checked == 8 == tenant.audit_seq
    assert (report.head_seq, report.head_hash) == (tenant.audit_seq, tenant.audit_head)
    assert report.first_seq == 1
    assert verify_chain(db.session, _tenant(globex)).ok  # each tenant its own chain


def test_empty_chain_of_a_tenant_without_rows_verifies(app, ctx):
    tenant = Tenant(name="Bare", slug="bare")
    db.session.add(tenant)
    db.session.commit()
    report = verify_chain(db.session, tenant)
    assert report.ok and report.rows_checked == 0 and report.head_hash == GENESIS


def test_edited_row_is_a_hash_mismatch(chain):
    victim = _rows(chain)[5]
    _sql(update(AuditLog).where(AuditLog.id == victim.id).values(actor_label="someone-else@acme.test"))
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok
    assert (report.broken.id, report.broken.seq) == (victim.id, 6)
    assert "hash mismatch" in report.broken.reason
    assert report.rows_checked == 5


def test_edited_changes_json_is_a_hash_mismatch(chain):
    victim = _rows(chain)[4]
    _sql(update(AuditLog).where(AuditLog.id == victim.id).values(changes={"after": {"subject": "Nothing here"}}))
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok and report.broken.id == victim.id and "hash mismatch" in report.broken.reason


def test_deleted_row_is_a_seq_gap(chain):
    rows = _rows(chain)
    _sql(delete(AuditLog).where(AuditLog.id == rows[3].id))
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok
    assert (report.broken.id, report.broken.seq) == (rows[4].id, 5)
    assert "seq 4 missing" in report.broken.reason


def test_deleted_row_with_renumbered_successors_breaks_the_linkage(chain):
    """Deleting a row and closing the seq gap still leaves prev_hash pointing at the deleted row."""
    rows = _rows(chain)
    _sql(delete(AuditLog).where(AuditLog.id == rows[3].id))
    for row in rows[4:]:
        _sql(update(AuditLog).where(AuditLog.id == row.id).values(seq=row.seq - 1))
    _sql(update(Tenant).where(Tenant.id == chain.tenant.id).values(audit_seq=Tenant.audit_seq - 1))
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok and report.broken.id == rows[4].id
    assert "prev_hash" in report.broken.reason


def _swap(a: AuditLog, b: AuditLog, columns) -> None:
    values_a = {c: getattr(a, c) for c in columns}
    values_b = {c: getattr(b, c) for c in columns}
    _sql(update(AuditLog).where(AuditLog.id == a.id).values(**values_b))
    _sql(update(AuditLog).where(AuditLog.id == b.id).values(**values_a))


def test_two_rows_swapped_whole_break_the_prev_hash_linkage(chain):
    rows = _rows(chain)
    _swap(rows[4], rows[5], SWAPPED)  # everything but id and seq: the two rows trade places
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok
    assert (report.broken.id, report.broken.seq) == (rows[4].id, 5)
    assert "prev_hash" in report.broken.reason


def test_two_rows_swapped_content_only_is_a_hash_mismatch(chain):
    rows = _rows(chain)
    _swap(rows[4], rows[5], ("action", "entity_id", "ticket_number", "changes"))
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok and report.broken.seq == 5 and "hash mismatch" in report.broken.reason


def test_truncated_tail_is_detected_against_the_tenant_head(chain):
    rows = _rows(chain)
    _sql(delete(AuditLog).where(AuditLog.id.in_([rows[-1].id, rows[-2].id])))
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok
    assert report.rows_checked == 6
    assert (report.broken.id, report.broken.seq) == (None, 7)
    assert "truncated" in report.broken.reason


def test_tail_swapped_for_a_forged_head_is_detected(chain):
    _sql(update(Tenant).where(Tenant.id == chain.tenant.id).values(audit_head="f" * 64))
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok and report.broken.seq == 8 and "recorded head" in report.broken.reason


def test_whole_chain_deleted_is_detected(chain):
    _sql(delete(AuditLog).where(AuditLog.tenant_id == chain.tenant.id))
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok and report.broken.seq == 1 and "deleted" in report.broken.reason


def test_deleted_prefix_without_checkpoint_is_detected(chain):
    rows = _rows(chain)
    _sql(delete(AuditLog).where(AuditLog.id.in_([r.id for r in rows[:3]])))
    report = verify_chain(db.session, _tenant(chain))
    assert not report.ok
    assert (report.broken.id, report.broken.seq) == (rows[3].id, 4)
    assert "no checkpoint" in report.broken.reason


def test_another_tenants_rows_do_not_affect_a_chain(chain, globex):
    victim = _rows(globex)[0]
    _sql(update(AuditLog).where(AuditLog.id == victim.id).values(action="HACKED"))
    assert verify_chain(db.session, _tenant(chain)).ok
    assert not verify_chain(db.session, _tenant(globex)).ok


# -- pruning ------------------------------------------------------------------------------------------
class Clock:
    """Moves the time the unit of work stamps on audit rows."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def at(self, when: datetime) -> None:
        self.monkeypatch.setattr(uow_module, "utcnow", lambda: when)

    def reset(self) -> None:
        self.monkeypatch.setattr(uow_module, "utcnow", lambda: datetime.now(timezone.utc))


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def aged(app, ctx, monkeypatch):
    """acme built in 2020 (4 rows) + 3 tickets in 2020, 3 in 2021, 2 in January 2024: 12 rows."""
    clock = Clock(monkeypatch)
    clock.at(_utc(2020, 3, 1))
    ws = make_workspace("acme", "Acme")
    for i in range(3):
        make_ticket(ws, subject=f"Old {i}")
    clock.at(_utc(2021, 3, 1))
    for i in range(3):
        make_ticket(ws, subject=f"Middle {i}")
    clock.at(_utc(2024, 1, 1))
    for i in range(2):
        make_ticket(ws, subject=f"New {i}")
    clock.reset()
    ws.clock = clock
    return ws


def _archived(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_prune_archives_and_removes_only_older_rows_and_still_verifies(aged, tmp_path):
    rows_before = _rows(aged)
    result = prune_before(_tenant(aged), _utc(2021, 1, 1), tmp_path / "acme.jsonl")
    assert (result.pruned_rows, result.first_pruned_seq, result.last_pruned_seq) == (7, 1, 7)

    remaining = _rows(aged)
    assert [r.seq for r in remaining] == list(range(8, 14))  # 5 kept + the checkpoint at 13
    assert all(r.created_at >= _utc(2021, 1, 1) for r in remaining)
    assert [r.id for r in remaining[:5]] == [r.id for r in rows_before[7:]]
    checkpoint = remaining[-1]
    assert (checkpoint.action, checkpoint.entity_type, checkpoint.actor_type, checkpoint.actor_label) == \
        ("CHECKPOINT", "AuditLog", "system", "audit prune")
    assert checkpoint.changes["last_pruned_seq"] == 7
    assert checkpoint.changes["last_pruned_hash"] == rows_before[6].hash == remaining[0].prev_hash
    assert checkpoint.changes["pruned_rows"] == 7
    assert checkpoint.changes["cut_before"] == "2021-01-01T00:00:00+00:00"
    assert result.checkpoint_seq == 13

    report = verify_chain(db.session, _tenant(aged))
    assert report.ok, report.broken
    assert (report.rows_checked, report.first_seq, report.head_seq) == (6, 8, 13)

    archived = _archived(tmp_path / "acme.jsonl")
    assert [a["seq"] for a in archived] == list(range(1, 8))
    assert [a["hash"] for a in archived] == [r.hash for r in rows_before[:7]]


def test_archive_is_a_verifiable_chain_ending_at_the_checkpoint(aged, tmp_path):
    import hashlib

    path = tmp_path / "acme.jsonl"
    prune_before(_tenant(aged), _utc(2021, 1, 1), path)
    prev = GENESIS
    for record in _archived(path):
        row = AuditLog(**{k: v for k, v in record.items() if k not in ("id", "hash", "prev_hash", "created_at")},
                       created_at=datetime.fromisoformat(record["created_at"]))
        assert record["prev_hash"] == prev
        assert chain_hash(prev, row) == record["hash"]
        prev = record["hash"]
    checkpoint = _rows(aged)[-1]
    assert checkpoint.changes["last_pruned_hash"] == prev
    assert checkpoint.changes["export_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_prune_with_nothing_old_enough_changes_nothing(aged, tmp_path):
    seq = _tenant(aged).audit_seq
    result = prune_before(_tenant(aged), _utc(2019, 1, 1), tmp_path / "none.jsonl")
    assert result.pruned_rows == 0
    assert not (tmp_path / "none.jsonl").exists()
    assert _tenant(aged).audit_seq == seq


def test_prune_refuses_a_future_cut_and_an_existing_archive(aged, tmp_path):
    with pytest.raises(ValueError):
        prune_before(_tenant(aged), datetime.now(timezone.utc) + timedelta(days=1), tmp_path / "x.jsonl")
    existing = tmp_path / "existing.jsonl"
    existing.write_text("keep me")
    with pytest.raises(FileExistsError):
        prune_before(_tenant(aged), _utc(2021, 1, 1), existing)
    assert existing.read_text() == "keep me"
    assert len(_rows(aged)) == 12  # nothing removed


def test_repeated_prunes_keep_the_chain_verifiable(aged, tmp_path):
    aged.clock.at(_utc(2024, 6, 1))
    prune_before(_tenant(aged), _utc(2021, 1, 1), tmp_path / "one.jsonl")  # checkpoint: seq 13, June 2024
    aged.clock.at(_utc(2024, 9, 1))
    make_ticket(aged, subject="Later")  # seq 14
    aged.clock.reset()
    assert verify_chain(db.session, _tenant(aged)).ok
    result = prune_before(_tenant(aged), _utc(2024, 8, 1), tmp_path / "two.jsonl")  # removes checkpoint 1 too
    assert (result.pruned_rows, result.first_pruned_seq, result.last_pruned_seq) == (6, 8, 13)
    assert _archived(tmp_path / "two.jsonl")[-1]["action"] == "CHECKPOINT"
    remaining = _rows(aged)
    assert [(r.seq, r.action) for r in remaining] == [(14, "CREATE"), (15, "CHECKPOINT")]
    assert remaining[-1].changes["last_pruned_seq"] == 13
    report = verify_chain(db.session, _tenant(aged))
    assert report.ok and report.first_seq == 14 and report.rows_checked == 2


def test_prune_of_every_row_leaves_a_chain_of_one_checkpoint(aged, tmp_path):
    result = prune_before(_tenant(aged), datetime.now(timezone.utc), tmp_path / "all.jsonl")
    assert result.pruned_rows == 12
    remaining = _rows(aged)
    assert [(r.seq, r.action) for r in remaining] == [(13, "CHECKPOINT")]
    assert verify_chain(db.session, _tenant(aged)).ok


def test_tampering_after_a_prune_is_still_detected(aged, tmp_path):
    prune_before(_tenant(aged), _utc(2021, 1, 1), tmp_path / "a.jsonl")
    remaining = _rows(aged)
    # deleting more old rows than the checkpoint accounts for
    _sql(delete(AuditLog).where(AuditLog.id == remaining[0].id))
    report = verify_chain(db.session, _tenant(aged))
    assert not report.ok and report.broken.id == remaining[1].id and "no checkpoint" in report.broken.reason


def test_forged_checkpoint_contents_are_detected(aged, tmp_path):
    prune_before(_tenant(aged), _utc(2021, 1, 1), tmp_path / "a.jsonl")
    checkpoint = _rows(aged)[-1]
    _sql(update(AuditLog).where(AuditLog.id == checkpoint.id)
         .values(changes={**checkpoint.changes, "pruned_rows": 1}))
    report = verify_chain(db.session, _tenant(aged))
    assert not report.ok and report.broken.id == checkpoint.id and "hash mismatch" in report.broken.reason


def test_prune_touches_only_its_tenant(aged, globex, tmp_path):
    globex_rows = db.session.scalar(select(func.count()).select_from(AuditLog)
                                    .where(AuditLog.tenant_id == globex.tenant.id))
    prune_before(_tenant(aged), _utc(2021, 1, 1), tmp_path / "a.jsonl")
    assert db.session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.tenant_id == globex.tenant.id)) == globex_rows
    assert verify_chain(db.session, _tenant(globex)).ok
