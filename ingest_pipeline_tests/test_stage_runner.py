"""The stage runner's two-part mode: documents prepared side by side, finished one at a time in partition order."""

from __future__ import annotations

import threading

from ingest_pipeline.catalog import documents
from ingest_pipeline.errors import DocumentRejected
from ingest_pipeline.stages import runner
from ingest_pipeline.stages.runner import DONE, FAILED, RETRY, SKIPPED, run_stage_in_order
from ingest_pipeline.statuses import DocumentStatus, Stage
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
