"""flask commands: demo, tokens, users."""
from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from app.cli import audit, demo, serve, tokens

    for group in (demo.demo, tokens.tokens, audit.audit):
        app.cli.add_command(group)
    app.cli.add_command(serve.serve)
