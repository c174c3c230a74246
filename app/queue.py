"""The Huey instance: SqliteHuey by default, RedisHuey when REDIS_URL is set.

Tasks register on this module-level instance at import time; create_app()
calls configure_queue() so the app's configuration (not only the process
environment) decides the storage. The database stays the durable record: Huey
is the fast path (see docs/architecture.md, "Jobs").
"""
from __future__ import annotations

from pathlib import Path

from huey import Huey
from huey.storage import RedisStorage, SqliteStorage
from redis import ConnectionPool

QUEUE_NAME = "ticketry"


def _storage_settings(redis_url: str, sqlite_path: str) -> tuple[type, dict]:
    if redis_url:
        # Short timeouts: a web request must not hang when Redis is down. Huey's RedisStorage
        # refuses a url together with connection parameters, so the pool carries both.
        pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        return RedisStorage, {"connection_pool": pool, "blocking": True, "read_timeout": 1}
    Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteStorage, {"filename": sqlite_path, "timeout": 15}


def _build() -> Huey:
    # In memory until create_app() calls configure_queue() with the app's settings.
    return Huey(QUEUE_NAME, results=False, utc=True, immediate=True)


huey = _build()


def configure_queue(config) -> None:
    """Point the shared Huey instance at the storage the app's configuration names."""
    storage_class, kwargs = _storage_settings(config.get("REDIS_URL", ""), config["HUEY_SQLITE_PATH"])
    huey.storage_class = storage_class
    huey.storage_kwargs = kwargs
    if config.get("HUEY_IMMEDIATE"):
        # Tests: tasks run inline, in memory (Huey's immediate mode).
        huey._immediate = True
        huey.storage = huey.get_immediate_storage()
    else:
        huey._immediate = False
        huey.storage = huey.create_storage()


def backend_name() -> str:
    return "redis" if huey.storage_class is RedisStorage else "sqlite"
