"""flask commands: demo, tokens, users."""
from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from app.cli import demo, tokens

    for group in (demo.demo, tokens.tokens):
        app.cli.add_command(group)
