"""The index upkeep as a step no ingest waits for: the sensor asks for one run at a time, its run indexes every set
behind, and a CLI ingest returns with its documents searchable while a detached `ingest-pipeline index` indexes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import dagster as dg
import numpy as np

from benchmarks.systems import process_alive
from ingest_pipeline.orchestration import search_index
from ingest_pipeline.orchestration.code_location import build_definitions
from ingest_pipeline.orchestration.search_index import INDEX_JOB
from ingest_pipeline.settings import INDEX_IN_BACKGROUND
from ingest_pipeline.store import embedding_sets, embeddings, index_upkeep
from ingest_pipeline_tests.pipeline_runs import paragraph, write
from ingest_pipeline_tests.upkeep_locks import upkeep_held, wait_for_a_waiter
from ingest_pipeline_tests.vector_sets import add_documents, publish, unit_rows


def _tick(app, instance) -> dg.SensorResult:
    defs = build_definitions(app.resources)
    with dg.build_sensor_context(instance=instance, resources=app.resources, definitions=defs) as context:
        return defs.resolve_sensor_def("index_upkeep_sensor")(context)


def _publish(app, names: list[str], seed: int) -> int:
    with app.engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "test", "upkeep-step", 8)
        embedding_sets.activate_if_none(conn, set_id)  # the set search answers from
        add_documents(conn, names)
        publish(conn, set_id, {name: unit_rows(np.random.default_rng(seed), 6, 8) for name in names})
    return set_id


def test_the_sensor_asks_for_one_upkeep_run_at_a_time_and_its_run_indexes_what_is_behind(app, instance, monkeypatch):
    assert "every published vector" in _tick(app, instance).skip_reason.skip_message
    set_id = _publish(app, ["a", "b"], seed=1)
    [request] = _tick(app, instance).run_requests
    job = build_definitions(app.resources).resolve_job_def(INDEX_JOB)
    result = job.execute_in_process(instance=instance, tags=request.tags)
    [materialization] = result.asset_materializations_for_node("search_index")
    assert materialization.metadata["vectors_indexed"].value == 12
    assert materialization.metadata["sets_rebuilt"].value == 1  # all new: built, not inserted one by one
    assert index_upkeep.unindexed_count(app.engine, set_id) == 0
    assert "every published vector" in _tick(app, instance).skip_reason.skip_message

    set_id = _publish(app, ["c"], seed=2)
    unfinished = instance.create_run_for_job(job, status=dg.DagsterRunStatus.NOT_STARTED)
    assert "under way" in _tick(app, instance).skip_reason.skip_message  # that run will take them in
    monkeypatch.setattr(search_index, "ABANDONED_AFTER_SECONDS", 0)
    with upkeep_held(app.engine, set_id):  # working: however long it takes, it is waited for
        assert "under way" in _tick(app, instance).skip_reason.skip_message
    assert len(_tick(app, instance).run_requests) == 1  # holding no lock so long after it started: dead
    instance.report_run_failed(unfinished)
    assert "failed" in _tick(app, instance).skip_reason.skip_message  # not asked again at once after a failure


def _cli(environment, *args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest_pipeline.cli.main", *args], env={**os.environ, **environment},
                          capture_output=True, text=True, timeout=timeout)


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not process_alive(pid)


def test_a_cli_ingest_returns_searchable_while_a_detached_upkeep_indexes_its_vectors(environment, app, tmp_path):
    environment = {**environment, "INGEST_INDEX_UPKEEP": INDEX_IN_BACKGROUND}  # the default
    for i in range(3):
        write(tmp_path / "corpus", f"{i}.txt", paragraph(f"glacier moraine {i}", 40))
    space = app.embedder.space
    with app.engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, space.embedder, space.model, space.dimensions)
    with upkeep_held(app.engine, set_id):  # an upkeep of the set under way: the ingest must not wait for it
        ingested = _cli(environment, "ingest", str(tmp_path / "corpus"), timeout=120)
        assert ingested.returncode == 0, ingested.stderr
        waiting = index_upkeep.unindexed_count(app.engine, set_id)
        assert waiting > 0 and f"{waiting} new vectors go into the search index in the background" in ingested.stderr
        found = _cli(environment, "search", "glacier moraine 2", "-k", "1", "--mode", "vector", "--json")
        assert json.loads(found.stdout)["path"].endswith("2.txt"), found.stdout  # by the exact scan of unindexed rows
        pid = int(ingested.stderr.split("(process ")[1].split(",")[0])
        assert os.getsid(pid) == pid  # a session of its own: it outlives the command and its terminal
        wait_for_a_waiter(app.engine, set_id)  # the detached upkeep, before the one run by hand below
    waited = _cli(environment, "index")  # waits for the detached one, then finds nothing left
    assert waited.returncode == 0, waited.stderr
    assert index_upkeep.unindexed_count(app.engine, set_id) == 0 and _gone(pid, 60)
    log = (tmp_path / "home" / "logs" / "index-upkeep.log").read_text()
    assert f"indexed {waiting} vectors" in log, log
    assert "every published vector is in its set's index" in _cli(environment, "index").stderr
