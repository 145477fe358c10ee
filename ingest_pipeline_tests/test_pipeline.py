"""The document assets end to end on the real embedded Postgres: statuses, idempotence, failures per document."""

from __future__ import annotations

from sqlalchemy import text

from ingest_pipeline.domain.statuses import DocumentStatus, Stage
from ingest_pipeline.store import documents
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write


def _status(app, doc_id):
    with app.engine.connect() as conn:
        return documents.get(conn, doc_id)


def _row_counts(app) -> dict[str, int]:
    with app.engine.connect() as conn:
        return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("documents", "document_pages", "staged_chunks", "chunks", "chunk_embeddings",
                              "embedding_cache")}


def test_a_run_over_several_documents_embeds_them_and_search_finds_each(app, instance, tmp_path):
    topics = ["glacier", "violin", "sourdough"]
    ids = [register(app, write(tmp_path, f"{t}.md", f"# {t.title()}\n\n{paragraph(t, 40)}")) for t in topics]
    result = materialize(app, instance, ids)
    assert result.success
    for doc_id in ids:
        doc = _status(app, doc_id)
        assert doc.status is DocumentStatus.EMBEDDED and doc.chunk_count >= 1 and doc.pages == 1
    counts = _row_counts(app)
    assert counts["chunks"] == counts["chunk_embeddings"] > len(ids)
    assert counts["staged_chunks"] == 0
    hit = app.search("how the violin behaves under condition 7", k=1)[0]
    assert hit.document_id == ids[1]


def test_rematerializing_does_no_work_and_adds_no_rows(app, instance, tmp_path):
    ids = [register(app, write(tmp_path, f"{t}.txt", paragraph(t, 30))) for t in ("tide", "comet")]
    materialize(app, instance, ids)
    before = _row_counts(app)
    second = materialize(app, instance, ids)
    assert second.success
    assert _row_counts(app) == before
    embeddings = second.asset_materializations_for_node("embeddings")[0].metadata
    assert embeddings["texts_embedded"].value == 0
    assert embeddings["up_to_date"].value == 2 and "unfinished" not in embeddings
    parsed = second.asset_materializations_for_node("parsed_text")[0].metadata
    assert parsed["up_to_date"].value == 2


def test_one_bad_document_fails_with_a_reason_and_the_others_finish(app, instance, tmp_path):
    good = register(app, write(tmp_path, "good.txt", paragraph("harbour", 20)))
    empty = register(app, write(tmp_path, "empty.txt", ""))
    image = register(app, write(tmp_path, "photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4))
    result = materialize(app, instance, [good, empty, image])
    assert result.success
    assert _status(app, good).status is DocumentStatus.EMBEDDED
    for bad, stage in ((empty, Stage.VALIDATED_CONTENT), (image, Stage.RAW_DOCUMENT)):
        doc = _status(app, bad)
        assert doc.status is DocumentStatus.FAILED and doc.failed_stage == stage
        assert doc.reason
    assert "PNG" in _status(app, image).reason
    # Every partition's materialization carries the run's counts, and a row for each document that did
    # not go through: the rejected one, with its reason; not the others.
    validated = result.asset_materializations_for_node("validated_content")
    assert len(validated) == 3 and all(m.metadata["failed"].value == 1 for m in validated)
    table = {row.data["document"]: row.data for row in validated[0].metadata["unfinished"].records}
    assert table[empty]["outcome"] == "failed" and table[empty]["note"] and good not in table
    later = result.asset_materializations_for_node("embeddings")[0].metadata["unfinished"].records
    assert {row.data["document"]: row.data["outcome"] for row in later} == {empty: "skipped", image: "skipped"}


def test_blocking_check_stops_chunks_and_embeddings_for_a_rejected_document(app, instance, tmp_path):
    doc_id = register(app, write(tmp_path, "tiny.txt", "too short"))
    result = materialize(app, instance, [doc_id])
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "usable_text" and not check.passed
    assert check.severity.value == "ERROR"
    executed = {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}
    assert executed == {"raw_document", "parse_job", "parsed_text", "validated_content"}
    doc = _status(app, doc_id)
    assert doc.status is DocumentStatus.FAILED and "characters" in doc.reason


def test_identical_text_in_a_second_file_is_marked_duplicate_and_not_embedded(app, instance, tmp_path):
    body = paragraph("lighthouse keeper", 20)
    first = register(app, write(tmp_path, "a/notes.txt", body))
    second = register(app, write(tmp_path, "b/copy.md", body + "\n\n"))
    materialize(app, instance, [first, second])
    assert _status(app, first).status is DocumentStatus.EMBEDDED
    duplicate = _status(app, second)
    assert duplicate.status is DocumentStatus.DUPLICATE and duplicate.duplicate_of == first
    with app.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM chunks WHERE document_id = :d"), {"d": second}).scalar() == 0


def test_a_new_version_replaces_chunks_and_reuses_unchanged_embeddings(app, instance, tmp_path):
    path = write(tmp_path, "guide.md", "# Guide\n\n" + paragraph("kayak", 60) + "\n\n# Safety\n\n" + paragraph("paddle", 60))
    doc_id = register(app, path)
    first = materialize(app, instance, [doc_id]).asset_materializations_for_node("embeddings")[0].metadata
    write(tmp_path, "guide.md", path.read_text() + "\n\n# Weather\n\n" + paragraph("storm front", 10))
    assert register(app, path) == doc_id
    second = materialize(app, instance, [doc_id]).asset_materializations_for_node("embeddings")[0].metadata
    assert 0 < second["texts_embedded"].value < first["texts_embedded"].value
    assert second["cache_hits"].value >= 1
    doc = _status(app, doc_id)
    assert doc.version == 2 and doc.status is DocumentStatus.EMBEDDED
    assert _row_counts(app)["chunks"] == doc.chunk_count
