"""Deleting a document removes its rows, stored file (unless shared) and partition; re-driving sends only failed documents back."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ingest_pipeline.domain.ids import Identity
from ingest_pipeline.domain.models import Chunk
from ingest_pipeline.domain.statuses import DocumentStatus, Stage
from ingest_pipeline.intake.admit import register_file
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION
from ingest_pipeline.service.lifecycle import delete_document, redrive, restart_status
from ingest_pipeline.store import chunks, documents
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write


def _rows_of(app, doc_id: str) -> dict[str, int]:
    with app.engine.connect() as conn:
        counts = {"documents": conn.execute(text("SELECT count(*) FROM documents WHERE id = :id"),
                                            {"id": doc_id}).scalar_one()}
        for table in ("document_pages", "staged_chunks", "chunks"):
            counts[table] = conn.execute(text(f"SELECT count(*) FROM {table} WHERE document_id = :id"),
                                         {"id": doc_id}).scalar_one()
        counts["chunk_embeddings"] = conn.execute(text(
            "SELECT count(*) FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id WHERE c.document_id = :id"
        ), {"id": doc_id}).scalar_one()
    return counts


def _get(app, doc_id):
    with app.engine.connect() as conn:
        return documents.get(conn, doc_id)


def _fail(app, doc_id, stage, reason="it broke", attempts=0):
    with app.engine.begin() as conn:
        documents.mark_failed(conn, doc_id, stage, reason)
        documents.update(conn, doc_id, attempts=attempts)


def test_deleting_a_processed_document_removes_rows_file_and_partition(app, instance, tmp_path):
    doc_id = register(app, write(tmp_path, "otter.md", f"# Otters\n\n{paragraph('river otter', 40)}"))
    keep = register(app, write(tmp_path, "heron.md", f"# Herons\n\n{paragraph('grey heron', 40)}"))
    assert materialize(app, instance, [doc_id, keep]).success
    with app.engine.begin() as conn:
        # A re-chunk in flight: staged chunks wait beside the live ones.
        chunks.stage(conn, doc_id, [Chunk(ordinal=0, text="staged text", token_count=2, page_start=1, page_end=1)])
    before = _rows_of(app, doc_id)
    assert all(before.values()), before
    sha256 = _get(app, doc_id).sha256

    assert delete_document(app, doc_id, instance) is True
    assert set(_rows_of(app, doc_id).values()) == {0}
    assert not app.store.exists(sha256)
    assert instance.get_dynamic_partitions(DOCUMENTS_PARTITION) == [_get(app, keep).partition_key]
    assert _rows_of(app, keep)["chunk_embeddings"] > 0
    assert app.search("how the grey heron behaves", k=1)[0].document_id == keep

    assert delete_document(app, doc_id, instance) is False


def test_the_stored_file_stays_while_another_document_has_the_same_bytes(app, tmp_path):
    path = write(tmp_path, "shared.txt", paragraph("shared bytes", 10))
    first = register_file(app.engine, app.store, path, identity=Identity.of_caller("first")).document
    second = register_file(app.engine, app.store, path, identity=Identity.of_caller("second")).document
    assert first.sha256 == second.sha256 and first.id != second.id

    assert delete_document(app, first.id) is True
    assert app.store.exists(first.sha256)
    assert delete_document(app, second.id) is True
    assert not app.store.exists(first.sha256)


@pytest.mark.parametrize(("failed_stage", "expected"), [
    (None, DocumentStatus.REGISTERED),
    ("intake", DocumentStatus.REGISTERED),
    (Stage.RAW_DOCUMENT, DocumentStatus.REGISTERED),
    (Stage.PARSE_JOB, DocumentStatus.REGISTERED),
    (Stage.PARSED_TEXT, DocumentStatus.SUBMITTED),
    (Stage.VALIDATED_CONTENT, DocumentStatus.PARSED),
    (Stage.CHUNKS, DocumentStatus.VALIDATED),
    (Stage.EMBEDDINGS, DocumentStatus.CHUNKED),
])
def test_a_failed_stage_restarts_from_the_status_it_needs(failed_stage, expected):
    assert restart_status(failed_stage) is expected


def test_redrive_resets_failed_documents_and_leaves_the_others(app, tmp_path):
    failed = register(app, write(tmp_path, "failed.txt", paragraph("failing", 10)))
    healthy = register(app, write(tmp_path, "healthy.txt", paragraph("healthy", 10)))
    _fail(app, failed, Stage.CHUNKS, attempts=3)
    before = _get(app, healthy)

    assert redrive(app, [failed, healthy, "d" + "0" * 20, failed]) == [failed]
    doc = _get(app, failed)
    assert (doc.status, doc.failed_stage, doc.reason, doc.attempts) == (DocumentStatus.VALIDATED, None, None, 0)
    assert _get(app, healthy) == before
    assert redrive(app, [failed]) == []


def test_a_redriven_document_is_processed_by_the_next_run(app, instance, tmp_path):
    doc_id = register(app, write(tmp_path, "kestrel.md", f"# Kestrels\n\n{paragraph('kestrel', 30)}"))
    _fail(app, doc_id, Stage.RAW_DOCUMENT, reason="the disk was unplugged")
    materialize(app, instance, [doc_id])
    assert _get(app, doc_id).status is DocumentStatus.FAILED

    assert redrive(app, [doc_id]) == [doc_id]
    assert materialize(app, instance, [doc_id]).success
    doc = _get(app, doc_id)
    assert doc.status is DocumentStatus.EMBEDDED and doc.chunk_count > 0
