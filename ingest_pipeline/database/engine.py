"""One SQLAlchemy engine (and connection pool) per database URL per process, migrated on first use."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine

from ingest_pipeline.database.embedded import embedded_database_url
from ingest_pipeline.database.migrations import migrate

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


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
            engine = create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)
            migrate(engine)
            _engines[url] = engine
    return engine
