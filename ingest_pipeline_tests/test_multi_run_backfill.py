"""A backfill of 1,000 documents launched as the UI does, on the production dagster.yaml: several runs at once, one rate budget, nothing twice or lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from ingest_pipeline.domain.providers import OPENAI
from ingest_pipeline.orchestration.policies import DOCUMENTS_PER_RUN, EMBEDDING_POOL, PARSE_POOL
from ingest_pipeline.settings import VARIABLES
from ingest_pipeline.simulators.openai_api import running_simulator
from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig
from ingest_pipeline_tests import dagster_dev_server, test_production_instance
from ingest_pipeline_tests.pipeline_runs import paragraph
from ingest_pipeline_tests.scratch_postgres import scratch_database
from ingest_pipeline_tests.test_dagster_ui import _launch_backfill_of_every_partition

pytestmark = pytest.mark.scale
# The production instance's fixture: DAGSTER_HOME with the repository's dagster.yaml, Dagster's own database.
production_environment = test_production_instance.production_environment
REPOSITORY = test_production_instance.REPOSITORY

DOCUMENTS = 1000
MIN_OVERLAPPING_RUNS = 4
KEY = "sk-backfill-test"
# Low enough that the runs wait on the shared budget (the corpus is about 50k tokens in a few requests).
RPM, TPM = 30, 20_000
BACKFILL_TIMEOUT_SECONDS = 900
INDEX_TIMEOUT_SECONDS = 240
UPLOADS_SENSOR = "uploads_sensor"
_UPKEEP_RUNS = """query { runsOrError(filter: {pipelineName: "index_upkeep"}) {
    ... on Runs { results { runId status } } ... on PythonError { message } } }"""
_BACKFILL_RUNS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 100) { runId status startTime endTime } } ... on Error { message } } }"""


@pytest.fixture(scope="module")
def simulator():
    config = SimulatorConfig(api_key=KEY, rpm=RPM, tpm=TPM)
    with running_simulator(config) as base_url:
        yield config, base_url


@pytest.fixture(scope="module")
def deployment(database_url, production_environment, simulator, tmp_path_factory):
    """1,000 small documents registered with the CLI into the production instance, then `dagster dev` on it."""
    home = tmp_path_factory.mktemp("multi-run-backfill")
    corpus = home / "corpus"
    corpus.mkdir()
    for number in range(DOCUMENTS):
        (corpus / f"note-{number:04d}.md").write_text(f"# Note {number}\n\n{paragraph(f'note {number} valve', 8)}\n")
    with scratch_database(database_url, "backfill") as url:
        inherited = {name: value for name, value in os.environ.items() if name not in {v.name for v in VARIABLES}}
        environment = {**inherited, **production_environment, "INGEST_HOME": str(home / "ingest"),
                       "INGEST_DATABASE_URL": url, "INGEST_EMBEDDER": OPENAI, "OPENAI_BASE_URL": simulator[1],
                       "OPENAI_API_KEY": KEY, "INGEST_OPENAI_RPM": str(RPM), "INGEST_OPENAI_TPM": str(TPM)}
        registered = subprocess.run([str(Path(sys.executable).parent / "ingest-pipeline"), "register", str(corpus)],
                                    cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=300)
        assert registered.returncode == 0, registered.stderr[-3000:]
        set_pool_limits(environment)
        # `register` adds the partitions and leaves the work to whoever starts runs: the backfill alone,
        # as the README's Deployment section says. A running uploads sensor would start runs for the same
        # documents and take the four run slots from the backfill.
        _dagster("sensor", "stop", UPLOADS_SENSOR, "-w", str(REPOSITORY / "workspace.yaml"), environment=environment)
        server = dagster_dev_server.start(REPOSITORY / "workspace.yaml", environment, home / "dagster-dev.log")
        engine = create_engine(url)
        try:
            yield server, engine
        finally:
            dagster_dev_server.stop(server)
            engine.dispose()


def set_pool_limits(environment: dict[str, str]) -> None:
    """What the operator does once on a new instance (README, Deployment). Left to Dagster, a pool gets its
    default limit when a step first claims it, and two runs claiming it at once on a fresh instance race
    (a unique violation on `concurrency_limits` failed one of this test's runs)."""
    limit = yaml.safe_load((REPOSITORY / "dagster.yaml").read_text())["concurrency"]["pools"]["default_limit"]
    for pool in (EMBEDDING_POOL, PARSE_POOL):
        _dagster("instance", "concurrency", "set", pool, str(limit), environment=environment)


def _dagster(*arguments: str, environment: dict[str, str]) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "dagster"), *arguments], cwd=REPOSITORY,
                          env=environment, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]


def _wait_for(server, backfill_id: str) -> dict:
    deadline = time.monotonic() + BACKFILL_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        backfill = server.graphql(_BACKFILL_RUNS, id=backfill_id)["partitionBackfillOrError"]
        if backfill.get("status") not in ("REQUESTED", None):
            return backfill
        time.sleep(3)
    pytest.fail(f"backfill {backfill_id} still running after {BACKFILL_TIMEOUT_SECONDS} s:\n{server.log_tail()}")


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals (start, end) that hold at one moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def test_most_at_once_counts_overlaps_only():
    assert most_at_once([(0, 2), (1, 3), (2.5, 4)]) == 2
    assert most_at_once([(0, 1), (1, 2)]) == 1


def test_a_backfill_of_1000_documents_spreads_over_concurrent_runs_within_one_budget(deployment, simulator):
    server, engine = deployment
    config, _ = simulator
    backfill_id, keys = _launch_backfill_of_every_partition(server)
    assert len(keys) == DOCUMENTS
    backfill = _wait_for(server, backfill_id)
    assert backfill["status"] == "COMPLETED_SUCCESS", (backfill, server.log_tail())
    # Each run covers at most DOCUMENTS_PER_RUN documents, every stage of them.
    runs = backfill["runs"]
    assert len(runs) == -(-DOCUMENTS // DOCUMENTS_PER_RUN) and {run["status"] for run in runs} == {"SUCCESS"}
    assert most_at_once([(run["startTime"], run["endTime"]) for run in runs]) >= MIN_OVERLAPPING_RUNS
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM documents GROUP BY status")).all())
        chunks, texts = conn.execute(text("SELECT count(*), count(DISTINCT text_hash) FROM chunks")).one()
        vectors = conn.execute(text("SELECT count(*) FROM chunk_embeddings")).scalar_one()
        cached = conn.execute(text("SELECT count(*) FROM embedding_cache")).scalar_one()
    assert statuses == {"embedded": DOCUMENTS}
    # None lost: every chunk searchable. Nothing twice: each distinct text sent to the provider once.
    assert chunks == vectors == texts == cached >= DOCUMENTS
    served = config.stats.snapshot()
    assert served["inputs"] == texts
    assert served["by_outcome"].get("rate_limited", 0) == 0, served
    # No run waited for the HNSW index: the upkeep sensor's own runs take every vector in afterwards.
    assert _wait_for_index(server, engine)


def _wait_for_index(server, engine) -> list[dict]:
    """The index upkeep runs, once every vector is indexed and none of them is still queued or running."""
    deadline = time.monotonic() + INDEX_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM chunk_embeddings WHERE NOT indexed")).scalar_one()
        runs = server.graphql(_UPKEEP_RUNS)["runsOrError"]["results"]
        if left == 0 and runs and {run["status"] for run in runs} == {"SUCCESS"}:
            return runs
        time.sleep(3)
    pytest.fail(f"{left} vectors still unindexed after {INDEX_TIMEOUT_SECONDS} s, upkeep runs {runs}:\n"
                f"{server.log_tail()}")
