"""One SQLAlchemy engine (and connection pool) per database URL per process, migrated on first use."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg2
from sqlalchemy import Engine, create_engine, event, exc

from ingest_pipeline.store.embedded import embedded_database_url
from ingest_pipeline.store.migrations import migrate

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
# A pooled connection idle longer than this is checked with a round trip before it is used again.
# Checking every checkout (pool_pre_ping) costs a round trip per document and stage.
STALE_AFTER_SECONDS = 10.0


def resolve_database_url(configured: str, home: Path) -> str:
    """The configured URL (forced onto psycopg2), or the embedded server's when none is set."""
    if not configured:
        return embedded_database_url(home)
    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which we do not install.
    for prefix in ("postgresql://", "postgres://"):
        if configured.startswith(prefix):
            return "postgresql+psycopg2://" + configured[len(prefix):]
    return configured


def get_engine(configured_url: str, home: Path) -> Engine:
    """The process-wide engine for this database, with the schema brought up to date."""
    url = resolve_database_url(configured_url, home)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_engine(url, pool_size=5, max_overflow=10)
            _ping_when_idle(engine)
            migrate(engine)
            _engines[url] = engine
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Replace a connection the server dropped while it sat idle in the pool (a restart, a timeout)."""

    @event.listens_for(engine, "checkin")
    def remember_checkin(dbapi_connection, record) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) < STALE_AFTER_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except psycopg2.Error as error:
            raise exc.DisconnectionError() from error  # the pool retries with a new connection
