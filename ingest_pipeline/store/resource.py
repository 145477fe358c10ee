"""The Postgres resource: one pooled engine per process, migrated, embedded when no URL is set."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from ingest_pipeline.store.engine import get_engine


class PostgresResource(dg.ConfigurableResource):
    url: str = Field(default="", description="Postgres URL with pgvector; empty starts the embedded server.")
    home: str = Field(description="INGEST_HOME: where the embedded server keeps its data.")

    @property
    def engine(self) -> Engine:
        # get_engine caches per URL, so every asset, sensor and CLI call shares one pool.
        return get_engine(self.url, Path(self.home))
