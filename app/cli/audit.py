"""flask audit verify | prune: check the audit hash chains, archive and remove old rows.

    flask --app wsgi audit verify [--tenant SLUG]
    flask --app wsgi audit prune --before YYYY-MM-DD [--tenant SLUG] [--export-dir DIR]
"""
from __future__ import annotations

import sys
from datetime import timezone
from pathlib import Path

import click

from app.config import INSTANCE
from app.extensions import db
from app.repositories.audit import tenants_by_slug
from app.services.audit import prune_before, verify_chain

DEFAULT_EXPORT_DIR = INSTANCE / "audit-archive"


@click.group(help="The audit trail: verify its hash chains, prune old rows.")
def audit() -> None:
    pass


def _tenants(slug: str | None):
    tenants = tenants_by_slug(db.session, slug)
    if slug is not None and not tenants:
        raise click.ClickException(f"No workspace {slug!r}.")
    return tenants


@audit.command("verify")
@click.option("--tenant", "slug", help="Only this workspace (slug); all of them by default.")
def verify(slug: str | None) -> None:
    """Recompute every workspace's chain. Exit status 1 names the first broken row."""
    broken = 0
    for tenant in _tenants(slug):
        report = verify_chain(db.session, tenant)
        pruned = f" (from seq {report.first_seq}, earlier rows pruned)" if (report.first_seq or 1) > 1 else ""
        rows = "1 row" if report.rows_checked == 1 else f"{report.rows_checked} rows"
        click.echo(f"{tenant.slug}: {rows} checked{pruned}, head seq {report.head_seq} {report.head_hash}")
        if not report.ok:
            broken += 1
            row = report.broken
            where = f"row id {row.id}, seq {row.seq}" if row.id is not None else f"seq {row.seq} (missing)"
            click.echo(f"{tenant.slug}: BROKEN at {where}: {row.reason}", err=True)
        db.session.remove()
    if broken:
        click.echo(f"{broken} workspace chain(s) broken.", err=True)
        sys.exit(1)
    click.echo("All chains intact.")


@audit.command("prune")
@click.option("--before", "before", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Remove rows written before this date (00:00 UTC).")
@click.option("--tenant", "slug", help="Only this workspace (slug); all of them by default.")
@click.option("--export-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_EXPORT_DIR,
              show_default=True, help="Where the removed rows are archived, one JSON-lines file per workspace.")
def prune(before, slug: str | None, export_dir: Path) -> None:
    """Archive, then remove rows older than --before; a CHECKPOINT row keeps each chain verifiable."""
    cut = before.replace(tzinfo=timezone.utc)
    export_dir.mkdir(parents=True, exist_ok=True)
    for tenant in _tenants(slug):
        path = export_dir / f"audit-{tenant.slug}-before-{cut:%Y-%m-%d}.jsonl"
        try:
            result = prune_before(tenant, cut, _free(path))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        if result.pruned_rows:
            click.echo(f"{tenant.slug}: archived {result.pruned_rows} rows (seq {result.first_pruned_seq}–"
                       f"{result.last_pruned_seq}) to {result.export_path}; checkpoint at seq {result.checkpoint_seq}")
        else:
            click.echo(f"{tenant.slug}: nothing written before {cut:%Y-%m-%d}")
        db.session.remove()


def _free(path: Path) -> Path:
    """The path, or the same name with -2, -3… when an archive of the same cut exists."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
