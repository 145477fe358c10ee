"""The stage runner's modes: documents in threads or forked processes, and prepared side by side then finished one at a time in partition order."""

from __future__ import annotations

import os
import signal
import threading
import time

from sqlalchemy import text

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.statuses import DocumentStatus, Stage
from ingest_pipeline.logs.redaction import REDACTED
from ingest_pipeline.orchestration import runner
from ingest_pipeline.orchestration.runner import DONE, FAILED, RETRY, SKIPPED, run_stage_in_order
from ingest_pipeline.store import documents
from ingest_pipeline_tests.pipeline_runs import register, write


def _registered(app, tmp_path, names: list[str]) -> list[str]:
    ids = [register(app, write(tmp_path, f"{name}.txt", name)) for name in names]
    with app.engine.begin() as conn:
        for doc_id in ids:
            documents.update(conn, doc_id, status=str(DocumentStatus.PARSED))
    return ids


def test_documents_are_prepared_at_once_and_finished_in_order(app, tmp_path):
    ids = _registered(app, tmp_path, ["cove", "dune", "fjord", "reef"])
    # Prepared one by one, the barrier (two parties) would break and every document would fail.
    both = threading.Barrier(2, timeout=10)
    finished = []

    def prepare(engine, doc):
        both.wait()
        return doc.file_name.upper()

    def finish(engine, doc, prepared):
        finished.append((doc.id, threading.get_ident(), prepared))
        return {"name": prepared}

    outcomes = run_stage_in_order(app.engine, Stage.VALIDATED_CONTENT, ids, prepare, finish, at_once=2)
    assert [o.state for o in outcomes] == [DONE] * 4 and [o.facts["name"] for o in outcomes] == [
        "COVE.TXT", "DUNE.TXT", "FJORD.TXT", "REEF.TXT"]
    assert [doc_id for doc_id, _, _ in finished] == ids
    assert {thread for _, thread, _ in finished} == {threading.get_ident()}


def test_a_failure_in_either_part_is_that_documents_alone(app, tmp_path):
    ids = _registered(app, tmp_path, ["cove", "dune", "fjord"])
    rejected, flaky = ids[0], ids[1]
    with app.engine.begin() as conn:
        documents.update(conn, ids[2], status=str(DocumentStatus.FAILED))

    def prepare(engine, doc):
        if doc.id == rejected:
            raise DocumentRejected("no usable text")
        return doc.id

    def finish(engine, doc, prepared):
        if doc.id == flaky:
            raise ConnectionError("server closed the connection")
        return {}

    outcomes = run_stage_in_order(app.engine, Stage.VALIDATED_CONTENT, ids, prepare, finish)
    assert [o.state for o in outcomes] == [FAILED, RETRY, SKIPPED]
    assert outcomes[0].note == "no usable text" and "server closed" in outcomes[1].note
    with app.engine.connect() as conn:
        docs = {doc.id: doc for doc in documents.get_many(conn, ids)}
    assert docs[rejected].status is DocumentStatus.FAILED and docs[rejected].failed_stage == Stage.VALIDATED_CONTENT
    assert docs[flaky].status is DocumentStatus.PARSED and docs[flaky].attempts == 1


def test_documents_are_prepared_at_most_a_window_ahead_of_the_one_finished(app, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PREPARED_AT_MOST", 2)
    ids = _registered(app, tmp_path, ["cove", "dune", "fjord", "reef", "shoal"])
    events = []

    def prepare(engine, doc):
        events.append(("prepare", doc.id))

    def finish(engine, doc, prepared):
        events.append(("finish", doc.id))
        return {}

    assert [o.state for o in run_stage_in_order(app.engine, Stage.VALIDATED_CONTENT, ids, prepare, finish)] == [DONE] * 5
    ahead = [sum(1 if kind == "prepare" else -1 for kind, _ in events[:n]) for n in range(len(events) + 1)]
    assert max(ahead) == 2 and [doc for kind, doc in events if kind == "finish"] == ids


def _client_connections(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")).scalar_one()


def test_a_stage_in_processes_writes_through_its_own_connections(app, tmp_path):
    ids = _registered(app, tmp_path, ["cove", "dune", "fjord", "reef"])
    before = _client_connections(app.engine)  # also leaves a pooled connection the workers inherit

    def handler(engine, doc):
        if doc.file_name == "dune.txt":
            raise DocumentRejected("its parse job failed", restart_stage=str(Stage.PARSE_JOB))
        with engine.begin() as conn:
            documents.update(conn, doc.id, status=str(DocumentStatus.VALIDATED))
        return {"pid": os.getpid()}

    outcomes = runner.run_stage(app.engine, Stage.VALIDATED_CONTENT, ids, handler, at_once=2, processes=True)
    assert [o.state for o in outcomes] == [DONE, FAILED, DONE, DONE]
    assert os.getpid() not in {o.facts["pid"] for o in outcomes if o.state == DONE}
    with app.engine.connect() as conn:  # the parent's pooled connection was left alone
        docs = {doc.id: doc for doc in documents.get_many(conn, ids)}
    assert [docs[i].status for i in ids] == [DocumentStatus.VALIDATED, DocumentStatus.FAILED,
                                             DocumentStatus.VALIDATED, DocumentStatus.VALIDATED]
    assert docs[ids[1]].failed_stage == Stage.PARSE_JOB  # the restart stage crossed from the worker
    # The workers' connections ended with them.
    deadline = time.monotonic() + 10
    while _client_connections(app.engine) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _client_connections(app.engine) == before


def test_documents_prepared_in_processes_are_finished_here_in_order(app, tmp_path):
    ids = _registered(app, tmp_path, ["cove", "dune", "fjord", "reef", "shoal"])
    finished = []

    def finish(engine, doc, prepared_in):
        finished.append(doc.id)
        return {"prepared_in": prepared_in, "finished_in": os.getpid()}

    outcomes = run_stage_in_order(app.engine, Stage.VALIDATED_CONTENT, ids, lambda engine, doc: os.getpid(),
                                  finish, at_once=2, processes=True)
    assert [o.state for o in outcomes] == [DONE] * 5 and finished == ids
    assert {o.facts["finished_in"] for o in outcomes} == {os.getpid()}
    assert os.getpid() not in {o.facts["prepared_in"] for o in outcomes}


def _killed_on(file_name: str):
    """A handler part that dies as a crash in native code would, on one document."""
    def work(engine, doc):
        if doc.file_name == file_name:
            os.kill(os.getpid(), signal.SIGKILL)
        return {"pid": os.getpid()}
    return work


def test_a_document_that_kills_its_worker_fails_alone(app, tmp_path):
    ids = _registered(app, tmp_path, ["cove", "dune", "fjord", "reef", "shoal"])
    outcomes = runner.run_stage(app.engine, Stage.VALIDATED_CONTENT, ids, _killed_on("fjord.txt"), processes=True)
    assert [o.state for o in outcomes] == [DONE, DONE, FAILED, DONE, DONE]
    assert outcomes[2].note == runner.WORKER_DIED
    with app.engine.connect() as conn:
        doc = documents.get(conn, ids[2])
    assert doc.status is DocumentStatus.FAILED and doc.reason == runner.WORKER_DIED


def test_a_document_that_kills_its_worker_while_prepared_fails_alone(app, tmp_path):
    ids = _registered(app, tmp_path, ["cove", "dune", "fjord", "reef"])
    outcomes = run_stage_in_order(app.engine, Stage.VALIDATED_CONTENT, ids, _killed_on("dune.txt"),
                                  lambda engine, doc, prepared: prepared, processes=True)
    assert [o.state for o in outcomes] == [DONE, FAILED, DONE, DONE]
    assert outcomes[1].note == runner.WORKER_DIED


def test_a_failure_reason_is_stored_without_secrets_or_internal_paths(app, tmp_path):
    ids = _registered(app, tmp_path, ["cove", "dune"])
    storage = app.settings.home / "storage" / "ab" / "cd"

    def handler(engine, doc):
        if doc.id == ids[0]:
            raise OSError(f"cannot open {storage}/abcd1234 from https://user:hunter2hunter2@api.example/v1")
        raise DocumentRejected(f"refused by {storage}/checker with Authorization: Bearer tok3n-tok3n-tok3n")

    runner.run_stage(app.engine, Stage.VALIDATED_CONTENT, ids, handler)
    with app.engine.connect() as conn:
        reasons = [doc.reason for doc in documents.get_many(conn, ids)]
    assert reasons[0] == f"OSError: cannot open \u2026/abcd1234 from https://user:{REDACTED}@api.example/v1"
    assert reasons[1] == f"refused by \u2026/checker with Authorization: {REDACTED} {REDACTED}"
