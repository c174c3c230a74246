"""flask commands: demo, tokens, users."""
from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from app.cli import audit, backup, demo, search, serve, tokens

    for group in (demo.demo, tokens.tokens, audit.audit, search.search):
        app.cli.add_command(group)
    app.cli.add_command(serve.serve)
    app.cli.add_command(backup.db_backup)
