import pytest

from tests.integration.api.conftest import api_for, api_with, token_for  # noqa: F401
from tests.integration.web.conftest import client_for  # noqa: F401


@pytest.fixture(autouse=True)
def sql_backend_by_default(app, monkeypatch):
    """SQL full text unless a test points MEILISEARCH_URL somewhere (the Meilisearch tests do)."""
    monkeypatch.setitem(app.config, "MEILISEARCH_URL", "")
