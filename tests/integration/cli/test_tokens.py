"""flask tokens create EMAIL --tenant SLUG: one line on stdout, a working token."""
from __future__ import annotations

from app.extensions import db
from app.services.auth import token_from_header
from app.services.people import TOKEN_PREFIX


def test_create_prints_exactly_one_token_that_works(app, acme):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["tokens", "create", "agent@acme.test", "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stdout == lines[0] + "\n"
    secret = lines[0]
    assert secret.startswith(TOKEN_PREFIX) and " " not in secret
    with app.app_context():
        token = token_from_header(secret)
        assert token is not None
        assert (token.user.email, token.tenant_id, token.name) == ("agent@acme.test", acme.tenant.id, "CLI token")
        assert token_from_header(secret + "x") is None
        db.session.remove()


def test_create_refuses_unknown_people_and_workspaces(app, acme):
    runner = app.test_cli_runner()
    with app.app_context():
        unknown_person = runner.invoke(args=["tokens", "create", "nobody@acme.test", "--tenant", "acme"])
        other_workspace = runner.invoke(args=["tokens", "create", "agent@acme.test", "--tenant", "globex"])
    assert unknown_person.exit_code == 1 and unknown_person.stdout == ""
    assert "No person 'nobody@acme.test'" in unknown_person.output
    assert other_workspace.exit_code == 1 and other_workspace.stdout == ""
