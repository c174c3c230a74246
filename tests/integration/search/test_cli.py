"""flask search reindex / sync, and the sync job the worker enqueues when it starts."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.cli.bulk_import import import_tickets
from app.extensions import db
from app.models.search import SearchComment, SearchTicket


def counts(app) -> tuple[int, int]:
    with app.app_context():
        result = (db.session.scalar(select(func.count()).select_from(SearchTicket)),
                  db.session.scalar(select(func.count()).select_from(SearchComment)))
        db.session.remove()
    return result


def test_reindex_indexes_bulk_imported_rows(app, acme, globex):
    with app.app_context():
        import_tickets(acme.tenant, 12, seed=1)
        import_tickets(globex.tenant, 5, seed=2)
    assert counts(app) == (0, 0)
    result = app.test_cli_runner().invoke(args=["search", "reindex", "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    assert "acme: 12 ticket and 36 comment document(s) written, 0 removed" in result.output
    assert counts(app) == (12, 36)
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "globex: 5 ticket and 15 comment" in result.output
    assert counts(app) == (17, 51)


def test_reindex_of_every_workspace_vacuums_the_index_tables_once_at_the_end_on_postgresql(app, acme, globex):
    from tests.unit.services.test_search import gin_pending_pages, maintained

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: a GIN index's pending list and VACUUM")
        import_tickets(acme.tenant, 12, seed=1)
        import_tickets(globex.tenant, 5, seed=2)
        before = maintained("search_comments")
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        analyzed, vacuumed = maintained("search_comments")
        assert vacuumed is not None and (before[1] is None or vacuumed > before[1])
        assert analyzed is not None and (before[0] is None or analyzed > before[0])
        assert set(gin_pending_pages().values()) == {0}
        db.session.remove()


def test_reindex_of_an_unknown_workspace_fails(app):
    result = app.test_cli_runner().invoke(args=["search", "reindex", "--tenant", "nope"])
    assert result.exit_code != 0 and "No workspace 'nope'" in result.output


def test_sync_command_and_the_worker_start_job_catch_up(app, acme):
    with app.app_context():
        import_tickets(acme.tenant, 4, seed=3)
    result = app.test_cli_runner().invoke(args=["search", "sync"])
    assert result.exit_code == 0 and "acme: 4 ticket and 12 comment document(s) written" in result.output
    with app.app_context():
        import_tickets(acme.tenant, 2, seed=4)
        from app.tasks.search import enqueue_startup_sync

        enqueue_startup_sync()  # what huey_worker.py calls at start; immediate mode runs it here
        db.session.remove()
    assert counts(app) == (6, 18)
