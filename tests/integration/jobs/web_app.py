"""The WSGI app with the test-only jobs registered, so the dashboard's Retry can requeue them.

    gunicorn tests.integration.jobs.web_app:app
"""
from tests.integration.jobs import testing_tasks  # noqa: F401

from wsgi import app  # noqa: E402,F401
