"""flask tokens create EMAIL --tenant SLUG: prints a new API token and nothing else."""
from __future__ import annotations

import click

from app.extensions import db
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.people import create_token
from app.services.tenants import find_tenant


@click.group(help="API tokens.")
def tokens() -> None:
    pass


@tokens.command("create")
@click.argument("email")
@click.option("--tenant", "slug", required=True, help="Workspace slug, e.g. acme.")
@click.option("--name", default="CLI token", show_default=True)
def create(email: str, slug: str, name: str) -> None:
    tenant = find_tenant(slug)
    if tenant is None:
        raise click.ClickException(f"No workspace {slug!r}.")
    with UnitOfWork(tenant, Actor.system("cli")) as uow:
        user = uow.users.by_email(email)
        if user is None:
            raise click.ClickException(f"No person {email!r} in {slug!r}.")
        _, secret = create_token(uow, user.id, name)
        uow.commit()
    click.echo(secret)
    db.session.remove()
