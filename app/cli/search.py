"""flask search reindex [--tenant SLUG] | flask search sync: rebuild or catch up the search indexes."""
from __future__ import annotations

import sys
import time
from contextlib import nullcontext

import click
from flask.cli import AppGroup

from app.extensions import db
from app.services.search import backend_name, sync

search = AppGroup("search", help="Full-text search indexes.")


@search.command("reindex")
@click.option("--tenant", "slug", default=None, help="Only this workspace (default: every workspace).")
def reindex(slug: str | None) -> None:
    """Rebuild every document from the database (also rows imported in bulk), and Meilisearch if configured."""
    tenants = sync.tenants(slug)
    if slug and not tenants:
        raise click.ClickException(f"No workspace {slug!r}.")
    interactive = sys.stdout.isatty()  # a progress bar on a terminal, plain lines in logs and tests
    for tenant in tenants:
        started = time.perf_counter()
        size = sync.work_size(tenant)
        bar = click.progressbar(length=size, label=f"Indexing {tenant.slug}") if interactive and size else nullcontext()
        with bar:
            result = sync.reindex_tenant(tenant, progress=bar.update if interactive and size else None,
                                         vacuum=False)
        click.echo(f"{result.line()} in {time.perf_counter() - started:.1f}s ({backend_name()} search).")
    sync.refresh_index_tables()  # once for every workspace rebuilt, not once each
    db.session.remove()


@search.command("sync")
def sync_command() -> None:
    """Index only what the indexes missed (what the worker does when it starts)."""
    for result in sync.sync_all():
        click.echo(result.line())
    db.session.remove()
