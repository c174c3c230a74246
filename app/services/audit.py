"""The audit trail's read side: search, CSV export, chain verification and pruning.

Writing happens elsewhere: every service records its change with
``uow.audit(...)`` and the unit of work appends the rows to the tenant's hash
chain at commit, under the tenant row's lock (``Tenant.audit_seq`` /
``audit_head``). Row ``seq`` n has ``prev_hash`` = the hash of row n-1 (``GENESIS``
for row 1) and ``hash = chain_hash(prev_hash, row)``. Nothing updates a row;
only ``prune_before`` deletes rows.

Verification (``verify_chain``) walks a tenant's rows in seq order in one read
snapshot, up to the head the tenant recorded, and stops at the first row that
does not fit:

- ``seq`` not the next number: rows were deleted (or renumbered);
- ``prev_hash`` not the previous row's hash: rows were deleted, reordered or swapped;
- ``hash`` not ``chain_hash(prev_hash, row)``: the row's content was edited;
- after the last row, its seq and hash must equal ``Tenant.audit_seq`` and
  ``audit_head``: otherwise the tail was truncated.

Pruning and checkpoints. ``prune_before`` removes the chain's oldest rows
(every row up to the last one written before the cut) without breaking
verification. In one transaction, holding the tenant row's lock, it:

1. writes the rows to a new JSON-lines file (every column, including seq,
   prev_hash and hash, so the archive itself can be checked), fsynced;
2. deletes those rows;
3. appends a CHECKPOINT row to the chain through a UnitOfWork acting as
   ``Actor.system("audit prune")``: entity_type "AuditLog" and changes
   ``{"cut_before", "pruned_rows", "first_pruned_seq", "last_pruned_seq",
   "last_pruned_hash", "export_file", "export_sha256"}``.

A chain whose first remaining row has seq 1 starts from ``GENESIS``. One that
starts later is trusted only when a CHECKPOINT row written by the system, inside
the verified part of the chain, names exactly the seq before the first
remaining row and that row's ``prev_hash``. The checkpoint is itself a chained
row, so editing or deleting it breaks the chain like any other row; deleting
more old rows than the checkpoint accounts for leaves the first row's seq or
prev_hash without a match. A later prune may remove an earlier checkpoint: only
the one matching the current first row matters.

What a hash chain without a secret cannot do: someone able to rewrite every row
and the tenant's head can recompute all hashes. Keep the head hash that
``flask audit verify`` prints somewhere else (a ticket, a log shipped off the
host) to anchor it; a rewritten chain then no longer ends at an anchored hash.

CSV cells that start with ``= + - @`` or a tab/CR (attacker-supplied user
agents and attempted emails could) are prefixed with ``'`` so spreadsheets show
them as text instead of evaluating them as formulas.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.errors import PermissionDenied
from app.models import AuditLog, Tenant
from app.models.audit import GENESIS, chain_hash
from app.models.base import utcnow
from app.repositories.audit import CHECKPOINT, DEFAULT_LIMIT, MAX_LIMIT, AuditFilter, AuditRepository
from app.repositories.pagination import Page
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.validation import MAX_ID, Errors

# The actions services write today, offered as suggestions by the page filter.
KNOWN_ACTIONS = ("CREATE", "UPDATE", "LOGIN", "LOGIN_FAILED", "LOGOUT", "TOKEN_CREATED", "TOKEN_REVOKED",
                 "EXPORT", "SLA_SWEEP", "SLA_RECOMPUTE", "BULK_IMPORT", CHECKPOINT)
KNOWN_ENTITY_TYPES = ("Ticket", "Comment", "User", "ApiToken", "Tenant", "AuditLog")
CSV_COLUMNS = ("created_at", "actor_type", "actor_label", "action", "entity_type", "entity_id", "ticket_number",
               "changes", "ip_address", "user_agent", "request_id")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# -- filters --------------------------------------------------------------------------
def parse_moment(text: str) -> date | datetime:
    """An ISO date (``2024-05-01``) or date-time (``2024-05-01T09:30``, ``...Z``, ``...+02:00``)."""
    text = (text or "").strip()
    try:
        if len(text) <= 10 and "T" not in text:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("Use an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS][±HH:MM]).") from None


def _zone(tenant: Tenant) -> ZoneInfo:
    try:
        return ZoneInfo(tenant.timezone or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _bound(value: date | datetime, zone: ZoneInfo, *, end: bool) -> datetime:
    """A filter bound as aware UTC. A date covers that whole day in the workspace's time zone;
    a date-time without an offset is read in that zone too."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(timezone.utc)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc)


def build_filter(
    tenant: Tenant,
    *,
    entity_type=None,
    entity_id=None,
    ticket_number=None,
    user_id=None,
    action=None,
    start=None,
    end=None,
) -> AuditFilter:
    """An AuditFilter from form strings or typed values; ValidationFailed names each bad field.

    ``start`` is inclusive and ``end`` exclusive, except that a date ``end`` includes that day.
    """
    errors = Errors()

    def text(field: str, value, maximum: int) -> str | None:
        value = str(value).strip() if value is not None else ""
        if len(value) > maximum:
            errors.add(field, f"Must be at most {maximum} characters.")
        return value or None

    def number(field: str, value) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
            return value
        errors.add(field, "Must be a whole number." if not isinstance(value, int) else f"Must be 1 to {MAX_ID}.")
        return None

    def moment(field: str, value, *, is_end: bool) -> datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            try:
                value = parse_moment(value)
            except ValueError as exc:
                errors.add(field, str(exc))
                return None
        return _bound(value, _zone(tenant), end=is_end)

    f = AuditFilter(
        entity_type=text("entity_type", entity_type, 32),
        entity_id=text("entity_id", entity_id, 64),
        ticket_number=number("ticket_number", ticket_number),
        actor_id=number("user_id", user_id),
        action=(text("action", action, 32) or "").upper() or None,
        start=moment("start_date", start, is_end=False),
        end=moment("end_date", end, is_end=True),
    )
    if f.start is not None and f.end is not None and f.end <= f.start:
        errors.add("end_date", "Must be after the start date.")
    errors.raise_if_any()
    return f


def _require_lead(uow: UnitOfWork) -> None:
    user = uow.actor.user
    if uow.actor.type != "system" and (user is None or not user.has_role("lead")):
        raise PermissionDenied("Only leads and admins read the audit log.")


# -- search and export --------------------------------------------------------------------
def search_audit(uow: UnitOfWork, filters: AuditFilter, page: int = 1, limit: int = DEFAULT_LIMIT) -> Page:
    """One page of the workspace's audit rows, newest first (leads and admins)."""
    _require_lead(uow)
    errors = Errors()
    if page < 1:
        errors.add("page", "Must be at least 1.")
    if not 1 <= limit <= MAX_LIMIT:
        errors.add("limit", f"Must be between 1 and {MAX_LIMIT}.")
    errors.raise_if_any()
    return AuditRepository(uow.session, uow.tenant_id).list(filters, page, limit)


def export_csv(uow: UnitOfWork, filters: AuditFilter) -> Iterator[str]:
    """Record and commit an EXPORT row, then return the CSV lines of every matching row.

    Not a generator function on purpose: the permission check and the EXPORT row
    happen when this is called, before a single line is streamed. The lines are
    read in chunks while they are consumed.
    """
    _require_lead(uow)
    with uow:
        uow.audit("EXPORT", "AuditLog", None, {"format": "csv", "filters": filters.as_dict()})
        uow.commit()
    return _csv_lines(AuditRepository(uow.session, uow.tenant_id).stream(filters))


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_lines(rows: Iterator[AuditLog]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for row in rows:
        yield line([
            row.created_at.astimezone(timezone.utc).isoformat(),
            row.actor_type,
            _cell(row.actor_label),
            row.action,
            _cell(row.entity_type),
            _cell(row.entity_id),
            row.ticket_number,
            json.dumps(row.changes or {}, sort_keys=True, ensure_ascii=False, default=str),
            _cell(row.ip_address),
            _cell(row.user_agent),
            _cell(row.request_id),
        ])


# -- verification ------------------------------------------------------------------------
@dataclass(frozen=True)
class BrokenRow:
    id: int | None  # None when the row is missing (deleted, truncated)
    seq: int | None
    reason: str


@dataclass(frozen=True)
class ChainReport:
    tenant: str
    ok: bool
    rows_checked: int
    head_seq: int  # the tenant's recorded head
    head_hash: str
    first_seq: int | None = None  # > 1 after a prune
    broken: BrokenRow | None = None


def verify_chain(session: Session, tenant: Tenant) -> ChainReport:
    """Walk the tenant's chain in seq order and report the first row that does not fit.

    The walk runs in its own read-only session on ``session``'s engine, so the head and
    the rows come from one snapshot (REPEATABLE READ on PostgreSQL; a SQLite read
    transaction is one already) whatever the caller's session is doing.
    """
    engine = session.get_bind()
    with Session(engine) as snapshot:
        if engine.dialect.name == "postgresql":
            snapshot.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return _walk(AuditRepository(snapshot, tenant.id), tenant.slug)


def _walk(repo: AuditRepository, slug: str) -> ChainReport:
    head_seq, head_hash = repo.recorded_head()

    def report(checked: int, broken: BrokenRow | None = None, first_seq: int | None = None) -> ChainReport:
        return ChainReport(tenant=slug, ok=broken is None, rows_checked=checked, head_seq=head_seq,
                           head_hash=head_hash, first_seq=first_seq, broken=broken)

    first = repo.first(head_seq)
    if first is None:
        if head_seq == 0 and head_hash == GENESIS:
            return report(0)
        return report(0, BrokenRow(None, 1, f"no rows, but the workspace's head is at seq {head_seq}: "
                                            "the chain was deleted"))
    if first.seq == 1:
        expected_prev = GENESIS
    elif _checkpoint_for(repo, first, head_seq):
        expected_prev = first.prev_hash
    else:
        return report(0, BrokenRow(first.id, first.seq, f"rows before seq {first.seq} are missing and no "
                                                        "checkpoint accounts for them"), first.seq)
    expected_seq, checked, last = first.seq, 0, None
    for row in repo.chain(head_seq):
        if row.seq != expected_seq:
            missing = f"seq {expected_seq}" if row.seq == expected_seq + 1 else f"seq {expected_seq}–{row.seq - 1}"
            return report(checked, BrokenRow(row.id, row.seq, f"seq gap: {missing} missing (rows deleted)"),
                          first.seq)
        if row.prev_hash != expected_prev:
            return report(checked, BrokenRow(row.id, row.seq, "prev_hash does not match the previous row's hash "
                                                              "(rows deleted, reordered or swapped)"), first.seq)
        if chain_hash(row.prev_hash, row) != row.hash:
            return report(checked, BrokenRow(row.id, row.seq, "hash mismatch: the row's content was changed"),
                          first.seq)
        expected_prev, expected_seq, checked, last = row.hash, expected_seq + 1, checked + 1, row
    if last.seq != head_seq:
        return report(checked, BrokenRow(None, last.seq + 1, f"rows after seq {last.seq} are missing: the "
                                                             f"workspace's head is at seq {head_seq} (tail truncated)"),
                      first.seq)
    if last.hash != head_hash:
        return report(checked, BrokenRow(last.id, last.seq, "the last row's hash differs from the workspace's "
                                                            "recorded head"), first.seq)
    return report(checked, first_seq=first.seq)


def _checkpoint_for(repo: AuditRepository, first: AuditLog, head_seq: int) -> bool:
    for row in repo.checkpoints(head_seq):
        c = row.changes or {}
        if (row.actor_type == "system" and row.seq >= first.seq and c.get("last_pruned_seq") == first.seq - 1
                and c.get("last_pruned_hash") == first.prev_hash):
            return True
    return False


# -- pruning -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PruneResult:
    tenant: str
    pruned_rows: int
    first_pruned_seq: int | None = None
    last_pruned_seq: int | None = None
    export_path: Path | None = None
    checkpoint_seq: int | None = None


def prune_before(tenant: Tenant, before: datetime, export_path: str | os.PathLike) -> PruneResult:
    """Archive the chain's rows written before ``before`` to ``export_path`` (JSON lines), delete
    them and append a CHECKPOINT row, all in one transaction (see the module docstring).

    Nothing is written when no row is old enough. The file is created exclusively (an
    existing archive is never overwritten) and removed again if the transaction fails.
    """
    if before.tzinfo is None:
        raise ValueError("before must be timezone-aware")
    if before > utcnow():
        raise ValueError("before is in the future: prune keeps every row written from now on")
    path = Path(export_path)
    with UnitOfWork(tenant, Actor.system("audit prune")) as uow:
        repo = AuditRepository(uow.session, tenant.id)
        repo.lock_head()
        last_seq = repo.last_seq_before(before)
        if last_seq is None:
            return PruneResult(tenant=tenant.slug, pruned_rows=0)
        handle = path.open("xb")  # exclusive: an earlier archive is never overwritten
        committing = False
        try:
            with handle:
                count, first_seq, last_hash, digest = _archive(repo.chain(last_seq), handle)
            deleted = repo.delete_through(last_seq)
            if deleted != count:
                raise RuntimeError(f"archived {count} rows but deleted {deleted}")
            checkpoint = uow.audit(CHECKPOINT, "AuditLog", None, {
                "cut_before": before.astimezone(timezone.utc).isoformat(),
                "pruned_rows": count,
                "first_pruned_seq": first_seq,
                "last_pruned_seq": last_seq,
                "last_pruned_hash": last_hash,
                "export_file": path.name,
                "export_sha256": digest,
            })
            committing = True
            uow.commit()
        except BaseException:
            # Before the commit the rows are untouched and the file is only a copy. If the
            # commit itself failed we cannot tell whether the rows are gone: keep the file.
            if not committing:
                path.unlink(missing_ok=True)
            raise
    return PruneResult(tenant=tenant.slug, pruned_rows=count, first_pruned_seq=first_seq, last_pruned_seq=last_seq,
                       export_path=path, checkpoint_seq=checkpoint.seq)


def _archive(rows: Iterator[AuditLog], out) -> tuple[int, int, str, str]:
    """Write rows as JSON lines to a binary file; returns (count, first seq, last hash, sha256)."""
    digest = hashlib.sha256()
    count, first_seq, last_hash = 0, None, None
    for row in rows:
        record = {
            "id": row.id, "tenant_id": row.tenant_id, "seq": row.seq,
            "created_at": row.created_at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
            "actor_type": row.actor_type, "actor_id": row.actor_id, "actor_label": row.actor_label,
            "action": row.action, "entity_type": row.entity_type, "entity_id": row.entity_id,
            "ticket_number": row.ticket_number, "changes": row.changes or {}, "ip_address": row.ip_address,
            "user_agent": row.user_agent, "request_id": row.request_id,
            "prev_hash": row.prev_hash, "hash": row.hash,
        }
        line = (json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        out.write(line)
        digest.update(line)
        count += 1
        first_seq = row.seq if first_seq is None else first_seq
        last_hash = row.hash
    out.flush()
    os.fsync(out.fileno())
    return count, first_seq, last_hash, digest.hexdigest()
