"""The repository's production dagster.yaml, loaded against a real Postgres: storage there, runs queued, pools limited."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from sqlalchemy.engine import make_url

from ingest_pipeline.definitions import defs
from ingest_pipeline.orchestration.code_location import INGEST_JOB
from ingest_pipeline.orchestration.policies import EMBEDDING_POOL, PARSE_POOL
from ingest_pipeline_tests.scratch_postgres import scratch_database, tcp_port_for

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def production_environment(database_url, tmp_path_factory) -> dict[str, str]:
    """DAGSTER_HOME holding the repository's dagster.yaml, DAGSTER_PG_* naming a fresh database by host and port."""
    dagster_home = tmp_path_factory.mktemp("production-dagster-home")
    shutil.copyfile(REPOSITORY / "dagster.yaml", dagster_home / "dagster.yaml")
    with scratch_database(database_url, "dagster") as url, tcp_port_for(database_url) as port:
        yield {
            "DAGSTER_HOME": str(dagster_home),
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(port),
            "DAGSTER_PG_USER": make_url(url).username,
            # The embedded server trusts local connections, so any password is accepted.
            "DAGSTER_PG_PASSWORD": "unused-by-local-connections",
            "DAGSTER_PG_DB": make_url(url).database,
        }


@pytest.fixture(scope="module")
def instance(production_environment):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in production_environment.items():
            patch.setenv(name, value)
        instance = dg.DagsterInstance.get()
        try:
            yield instance
        finally:
            instance.dispose()


def test_runs_event_logs_and_schedules_are_stored_in_postgres(instance):
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)


def test_runs_go_through_a_limited_queue(instance):
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs > 0


def test_every_pool_of_the_code_location_gets_a_limit(instance):
    graph = defs.resolve_asset_graph()
    pools = set().union(*(graph.get(key).pools or set() for key in graph.get_all_asset_keys()))
    assert {EMBEDDING_POOL, PARSE_POOL} <= pools
    default_limit = instance.get_concurrency_config().pool_config.default_pool_limit
    assert default_limit and default_limit > 0
    for pool in pools:
        # Dagster applies the default to a pool when its first step claims a slot; do it now.
        instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
        assert instance.event_log_storage.get_concurrency_info(pool).slot_count == default_limit, pool


def test_failed_runs_are_retried_and_telemetry_is_off(instance):
    assert instance.run_retries_enabled and instance.run_retries_max_retries > 0
    assert not instance.telemetry_enabled


def test_a_run_launched_from_the_cli_waits_in_the_queue(instance, production_environment, tmp_path):
    # No daemon runs here, so a queued run stays queued: proof it went through the coordinator.
    run_id = str(uuid.uuid4())
    dagster = Path(sys.executable).parent / "dagster"
    environment = {**os.environ, **production_environment, "INGEST_HOME": str(tmp_path / "ingest")}
    launched = subprocess.run(
        [str(dagster), "job", "launch", "-w", "workspace.yaml", "-j", INGEST_JOB, "--run-id", run_id],
        cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=180,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.QUEUED
    enqueued = instance.all_logs(run_id, of_type=dg.DagsterEventType.PIPELINE_ENQUEUED)
    assert len(enqueued) == 1
