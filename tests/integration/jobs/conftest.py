"""Fixtures for the job system's cross-process tests (see harness.py).

``broker`` runs a test on the SQLite broker and on Redis (TEST_REDIS_URL, else
database 14 of the local Redis, flushed before and after; skipped when no Redis
answers). The database is SQLite, or PostgreSQL when TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import pytest

from tests.integration.jobs.harness import Stack, redis_reachable, redis_url_for_tests


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(params=["sqlite", "redis"])
def broker(request) -> str:
    if request.param == "redis" and not redis_reachable(redis_url_for_tests()):
        pytest.skip(f"no Redis answers at {redis_url_for_tests()} (set TEST_REDIS_URL)")
    return request.param


def _print_logs_if_failed(request, stack: Stack) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(stack.logs())


@pytest.fixture
def stack(request, tmp_path, broker):
    """An isolated installation on the test's broker; every process it started is killed afterwards."""
    installation = Stack(tmp_path, broker, redis_url_for_tests() if broker == "redis" else None)
    yield installation
    _print_logs_if_failed(request, installation)
    installation.close()
