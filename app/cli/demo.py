"""flask demo seed [--tickets N --tenant SLUG]: demo workspaces, people and tickets, then the logins."""
from __future__ import annotations

import sys
import time
from contextlib import nullcontext

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli.bulk_import import import_tickets
from app.cli.demo_workspaces import demo_logins, seed_workspaces, travels_in_time
from app.cli.seed_data import WORKSPACES
from app.extensions import db
from app.services.tenants import find_tenant

demo = AppGroup("demo", help="Demo data.")


@demo.command("seed")
@click.option("--tickets", "count", type=click.IntRange(min=0), default=0,
              help="Also import N generated tickets (3 comments each) in bulk.")
@click.option("--tenant", "slug", default=None, help="Workspace that receives the --tickets (default: acme).")
def seed(count: int, slug: str | None) -> None:
    """Create the demo workspaces (idempotent), optionally import N tickets, print the logins."""
    if slug and not count:
        raise click.UsageError("--tenant goes with --tickets N.")
    slug = slug or "acme"
    if count and slug not in {ws.slug for ws in WORKSPACES} and find_tenant(slug) is None:
        raise click.ClickException(f"No workspace {slug!r}.")
    if not travels_in_time():
        click.echo("time-machine is not installed: new demo tickets are stamped now, not over the last weeks.")
    for report in seed_workspaces():
        click.echo(report.line())
    if count:
        _bulk(count, slug)
    _print_logins()
    db.session.remove()


def _bulk(count: int, slug: str) -> None:
    tenant = find_tenant(slug)
    interactive = sys.stdout.isatty()  # no progress bar in logs, pipes and tests
    bar = click.progressbar(length=count, label=f"Importing into {slug}") if interactive else nullcontext()
    started = time.perf_counter()
    with bar:
        result = import_tickets(tenant, count, progress=bar.update if interactive else None)
    elapsed = time.perf_counter() - started
    click.echo(f"{slug}: imported {result.tickets:,} tickets (#{result.first_number}-#{result.last_number}) "
               f"and {result.comments:,} comments in {elapsed:.1f}s.")


def _print_logins() -> None:
    rows = [("Workspace", "Email", "Password", "Role"), *demo_logins()]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    click.echo(f"\nDemo logins, sign in at {current_app.config['BASE_URL']}/login:")
    for row in rows:
        click.echo("  " + "  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())
