"""Races between runs and users: two runs on the same documents at once, and a delete in the middle of a run."""

from __future__ import annotations

import json
import threading

from sqlalchemy import create_engine, text

from ingest_pipeline.orchestration import instance_storage
from ingest_pipeline.service.application import Application
from ingest_pipeline.service.lifecycle import delete_document
from ingest_pipeline.settings import Settings
from ingest_pipeline.store import locks
from ingest_pipeline.store.engine import get_engine
from ingest_pipeline_tests.pipeline_runs import register
from ingest_pipeline_tests.scratch_postgres import scratch_database
from ingest_pipeline_tests.store_invariants import violations
from ingest_pipeline_tests.subprocess_runs import corpus, ingest, waiting_on


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_two_ingests_of_the_same_files_at_once_leave_one_consistent_copy(environment, engine, tmp_path):
    folder = tmp_path / "corpus"
    corpus(folder)
    first, second = ingest(environment, folder), ingest(environment, folder)
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), [err[-2000:] for _, err in outputs]
    for out, _ in outputs:
        assert {json.loads(line)["status"] for line in out.splitlines()} == {"embedded"}
    assert violations(engine) == {}
    assert _count(engine, "SELECT count(*) FROM documents") == 4
    assert _count(engine, "SELECT count(*) FROM chunks") == _count(engine, "SELECT sum(chunk_count) FROM documents")


def test_a_delete_while_a_run_embeds_leaves_no_rows_of_the_deleted_document(environment, engine, tmp_path):
    folder = tmp_path / "corpus"
    corpus(folder)
    app = Application(Settings.from_env(environment))
    victim = register(app, folder / "caves.md")
    with engine.connect() as blocker:
        transaction = blocker.begin()
        blocker.execute(text("LOCK TABLE embedding_cache IN EXCLUSIVE MODE"))
        process = ingest(environment, folder)
        while not waiting_on(engine, "embedding_cache"):
            assert process.poll() is None, process.communicate()[1][-2000:]
        deleted = threading.Thread(target=delete_document, args=(app, victim))
        deleted.start()
        deleted.join(timeout=30)
        assert not deleted.is_alive(), "the delete waited for the run"
        transaction.rollback()
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-2000:]
    assert victim not in {json.loads(line)["id"] for line in out.splitlines()}
    for table, column in (("documents", "id"), ("document_pages", "document_id"), ("staged_chunks", "document_id"),
                          ("chunks", "document_id")):
        assert _count(engine, f"SELECT count(*) FROM {table} WHERE {column} = :id", id=victim) == 0, table
    assert _count(engine, "SELECT count(*) FROM documents WHERE status = 'embedded'") == 3
    assert violations(engine) == {}


def _lock_waiters(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one()


def test_a_cli_starting_while_another_creates_the_dagster_schema_waits_for_it(database_url, tmp_path, monkeypatch):
    """Two CLIs on one new database: the second must not fail on the first's uncommitted CREATE SCHEMA."""
    with scratch_database(database_url, "schema_race") as url:
        monkeypatch.setenv("INGEST_DATABASE_URL", url)
        monkeypatch.setenv("INGEST_HOME", str(tmp_path / "home"))
        engine = create_engine(url)
        failures: list[BaseException] = []
        with engine.connect() as first:
            transaction = first.begin()  # the other CLI, half-way through creating the schema
            first.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": locks.SCHEMA_LOCK})
            first.execute(text(f"CREATE SCHEMA {instance_storage.SCHEMA}"))
            second = threading.Thread(target=_create_storage, args=(failures,))
            second.start()
            while not _lock_waiters(engine):
                assert second.is_alive(), failures
            transaction.commit()
        second.join(timeout=120)
        engine.dispose()
        get_engine(url, tmp_path / "home").dispose()
    assert not second.is_alive() and failures == []


def _create_storage(failures: list[BaseException]) -> None:
    try:
        instance_storage.PipelineDatabaseStorage.from_config_value(None, {})
    except BaseException as error:  # reported to the test's thread
        failures.append(error)
