"""Shared fixtures: one real embedded Postgres for the session, emptied before each test that uses it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text

from ingest_pipeline.application import Application
from ingest_pipeline.assets.policies import DOCUMENTS_PARTITION
from ingest_pipeline.database.embedded import embedded_database_url
from ingest_pipeline.database.engine import get_engine
from ingest_pipeline.instance_storage import SCHEMA as DAGSTER_SCHEMA
from ingest_pipeline.settings import Settings

_TABLES = "documents, embedding_sets, rate_budgets, webhook_events, parse_jobs, provider_circuits"
_DAGSTER_BOOKKEEPING = ("alembic_version", "secondary_indexes", "instance_info")


@pytest.fixture(scope="session")
def database_home() -> Path:
    # Not under pytest's tmp_path: that is private to root (0700), and as root pgserver runs the
    # server as its own user, which must reach the data directory to stop it cleanly at exit.
    home = Path(tempfile.mkdtemp(prefix="ingest-tests-postgres-"))
    home.chmod(0o755)
    return home


@pytest.fixture(scope="session")
def database_url(database_home) -> str:
    return embedded_database_url(database_home)


@pytest.fixture
def engine(database_url, database_home):
    engine = get_engine(database_url, database_home)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {_TABLES} CASCADE"))
        _empty_dagster_schema(conn)
    return engine


def _empty_dagster_schema(conn) -> None:
    """The CLI's Dagster instance keeps its runs and partitions in this database too (schema `dagster`):
    each test starts without the previous test's. Its schema bookkeeping stays, so no migration reruns."""
    tables = conn.execute(text(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = :schema AND tablename <> ALL(:kept)"),
        {"schema": DAGSTER_SCHEMA, "kept": list(_DAGSTER_BOOKKEEPING)}).scalars().all()
    if tables:
        conn.execute(text(f"TRUNCATE {', '.join(f'{DAGSTER_SCHEMA}.{t}' for t in tables)} CASCADE"))


@pytest.fixture
def environment(tmp_path, database_url, engine) -> dict[str, str]:
    """Environment variables for a pipeline using the test database and a fresh home folder."""
    return {"INGEST_HOME": str(tmp_path / "home"), "INGEST_DATABASE_URL": database_url}


@pytest.fixture
def settings(environment) -> Settings:
    return Settings.from_env(environment)


@pytest.fixture
def app(settings) -> Application:
    return Application(settings)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def add_partitions(instance: dg.DagsterInstance, keys: list[str]) -> None:
    instance.add_dynamic_partitions(DOCUMENTS_PARTITION, keys)
