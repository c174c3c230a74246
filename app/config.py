"""Settings, read once from the environment. Every variable is documented in README.md."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite:///{INSTANCE / 'ticketry.db'}"
    # Accept the URLs that hosting platforms hand out and use psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    # Embedded default: one random key per instance folder, kept across restarts.
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    """Built from the environment when the app is created."""

    def __init__(self) -> None:
        self.ENV_NAME = os.environ.get("TICKETRY_ENV", "development")
        self.SECRET_KEY = _secret_key()
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        # hide_parameters: SQL logs and database errors never show values (webhook secrets, emails).
        # pool_pre_ping is decided by create_app for the final database URL (register_extensions).
        self.SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}
        self.SQLALCHEMY_RECORD_QUERIES = _bool("SQLALCHEMY_RECORD_QUERIES", False)
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.HUEY_SQLITE_PATH = os.environ.get("HUEY_SQLITE_PATH", str(INSTANCE / "huey.db"))
        self.HUEY_WORKERS = _int("HUEY_WORKERS", 2)
        # Queue and API list totals and pages remembered per process until the tenant's next audited change
        # (app/repositories/ticket_counts.py).
        self.TICKET_COUNT_CACHE = _bool("TICKET_COUNT_CACHE", True)
        # ... and pages alone (the benchmark's deep pages read every page: what a query costs).
        self.TICKET_PAGE_CACHE = _bool("TICKET_PAGE_CACHE", True)
        self.HUEY_IMMEDIATE = _bool("HUEY_IMMEDIATE", False)
        self.JOB_RETRY_BASE_SECONDS = float(os.environ.get("JOB_RETRY_BASE_SECONDS", "10"))
        self.JOB_LEASE_SECONDS = _int("JOB_LEASE_SECONDS", 300)
        self.OUTBOX_GRACE_SECONDS = _int("OUTBOX_GRACE_SECONDS", 10)
        self.MEILISEARCH_URL = os.environ.get("MEILISEARCH_URL", "")
        self.MEILISEARCH_API_KEY = os.environ.get("MEILISEARCH_API_KEY", "")
        self.BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", self.ENV_NAME == "production")
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        # Sign-in sessions (app/services/sessions.py): the cookie and its server-side record end this
        # many hours after sign-in; sign-out, deactivation and password changes end them at once.
        # The cookie is not re-sent with every answer (only when the session changes).
        self.SESSION_LIFETIME_HOURS = _int("SESSION_LIFETIME_HOURS", 12)
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=self.SESSION_LIFETIME_HOURS)
        self.SESSION_REFRESH_EACH_REQUEST = False
        self.REMEMBER_COOKIE_DURATION = self.PERMANENT_SESSION_LIFETIME  # remember-me is not offered
        # Security headers (app/web/security.py): HSTS max-age in seconds, 0 = no header.
        self.HSTS_SECONDS = _int("HSTS_SECONDS", 31_536_000 if self.ENV_NAME == "production" else 0)
        # Sign-in throttling (app/services/throttling.py): failures per email / per client address
        # within the window before sign-in waits (1 minute, doubling, at most the window).
        self.LOGIN_THROTTLE_ACCOUNT_FAILURES = _int("LOGIN_THROTTLE_ACCOUNT_FAILURES", 5)
        self.LOGIN_THROTTLE_IP_FAILURES = _int("LOGIN_THROTTLE_IP_FAILURES", 20)
        self.LOGIN_THROTTLE_WINDOW_MINUTES = _int("LOGIN_THROTTLE_WINDOW_MINUTES", 15)
        self.WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
        self.MAX_CONTENT_LENGTH = 2 * 1024 * 1024

        # Mail, with Flask-Mail's own names. No MAIL_SERVER: stored, not sent.
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
        self.MAIL_PORT = _int("MAIL_PORT", 25)
        self.MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
        self.MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Ticketry <ticketry@localhost>")
        # Ticketry's own: the SMTP socket timeout, and the seconds between attempts of an email after a
        # transient failure (its length + 1 is the number of attempts in all).
        self.MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "30"))
        self.MAIL_RETRY_SCHEDULE = os.environ.get("MAIL_RETRY_SCHEDULE", "60,300,900,3600,14400")

        # OpenAPI (flask-smorest); Swagger UI assets are served from static/vendor.
        self.API_TITLE = "Ticketry API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        # None: smorest's Swagger UI page (an inline script, refused by the CSP) is replaced by
        # our own at /api/v1/docs (app/api/__init__.py, templates/api/swagger.html).
        self.OPENAPI_SWAGGER_UI_PATH = None
        self.OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui/"

        self.METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
        self.WORKER_METRICS_PORT = _int("WORKER_METRICS_PORT", 0)
        self.LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
        self.LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
        self.AUDIT_RETENTION_DAYS = _int("AUDIT_RETENTION_DAYS", 365)
        self.JOB_RETENTION_DAYS = _int("JOB_RETENTION_DAYS", 14)
        # SLA (docs/sla.md): how often the breach sweep runs, and the at-risk share of new policies.
        self.SLA_SWEEP_MINUTES = _int("SLA_SWEEP_MINUTES", 5)
        self.SLA_WARNING_PERCENT = _int("SLA_WARNING_PERCENT", 80)

        # Webhooks (docs/webhooks.md). Allowed hosts: comma-separated names, IPs or CIDRs that may be
        # private or loopback (e.g. 127.0.0.1 for local development); the retry schedule is the
        # seconds between attempts, so its length + 1 is the number of attempts in all.
        self.WEBHOOK_ALLOWED_HOSTS = os.environ.get("WEBHOOK_ALLOWED_HOSTS", "")
        self.WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
        self.WEBHOOK_RETRY_SCHEDULE = os.environ.get("WEBHOOK_RETRY_SCHEDULE", "60,300,900,3600")
        self.WEBHOOK_SECRET_OVERLAP_HOURS = float(os.environ.get("WEBHOOK_SECRET_OVERLAP_HOURS", "24"))
        self.WEBHOOK_DISABLE_AFTER_DAYS = float(os.environ.get("WEBHOOK_DISABLE_AFTER_DAYS", "5"))
