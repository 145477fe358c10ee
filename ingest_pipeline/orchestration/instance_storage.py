"""Dagster's runs and event logs in the pipeline's own Postgres (schema `dagster`), written in batches."""

from __future__ import annotations

import os

from dagster_postgres import DagsterPostgresStorage

from ingest_pipeline.settings import Settings
from ingest_pipeline.store import locks
from ingest_pipeline.store.engine import get_engine

SCHEMA = "dagster"
# A run over N documents records N materializations per asset: Postgres takes them as one insert
# (SQLite commits, and fsyncs, each one: ~10 ms apiece).
EVENT_BATCH_SIZE = "1000"
POOL_RECYCLE_SECONDS, MAX_OVERFLOW = 3600, 4


class PipelineDatabaseStorage(DagsterPostgresStorage):
    """DagsterPostgresStorage on the database INGEST_DATABASE_URL names (or the embedded server)."""

    @classmethod
    def config_type(cls) -> dict:
        return {}

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "PipelineDatabaseStorage":
        settings = Settings.from_env()
        engine = get_engine(settings.database_url, settings.home)
        with engine.begin() as conn:
            locks.ensure_schema(conn, SCHEMA)
        url = engine.url.render_as_string(hide_password=False)
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{SCHEMA}"
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
        storage = cls(postgres_url=url, inst_data=inst_data)
        # Dagster opens a connection per event by default; a run stores thousands of events
        # (steps, materializations, log lines), so keep one open instead, as dagster-webserver does.
        for part in (storage.event_log_storage, storage.run_storage):
            part.optimize_for_webserver(statement_timeout=0, pool_recycle=POOL_RECYCLE_SECONDS, max_overflow=MAX_OVERFLOW)
        return storage
