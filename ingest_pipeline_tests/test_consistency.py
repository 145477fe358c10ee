"""Consistency when documents change under a running pipeline: new versions, deletes, concurrent intake, wide searches."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import text

from ingest_pipeline.domain.errors import Superseded
from ingest_pipeline.domain.ids import text_hash
from ingest_pipeline.domain.models import Chunk
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.embed.publish import publish_document
from ingest_pipeline.embed.stage import embed_pending
from ingest_pipeline.search.nearest import nearest_chunks
from ingest_pipeline.service.lifecycle import delete_document
from ingest_pipeline.store import chunks, documents, embeddings
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write

UP_TO_CHUNKS = ["raw_document", "parsed_text", "validated_content", "chunks"]


def _doc(app, doc_id):
    with app.engine.connect() as conn:
        return documents.get(conn, doc_id)


def test_a_version_registered_while_embedding_is_not_hidden_by_the_old_one(app, instance, tmp_path):
    path = write(tmp_path, "memo.txt", paragraph("first draft", 20))
    doc_id = register(app, path)
    materialize(app, instance, [doc_id], selection=UP_TO_CHUNKS)
    snapshot = _doc(app, doc_id)
    embedding_pass = embed_pending(app.engine, [doc_id], app.embedder)
    write(tmp_path, "memo.txt", paragraph("second draft", 20))
    register(app, path)
    with pytest.raises(Superseded):
        publish_document(app.engine, snapshot, embedding_pass)
    current = _doc(app, doc_id)
    assert current.status is DocumentStatus.REGISTERED and current.version == 2


def test_the_sensor_read_waits_for_a_registration_still_in_flight(app, tmp_path):
    register(app, write(tmp_path, "early.txt", paragraph("early")))
    writer = app.engine.connect()
    transaction = writer.begin()
    documents.insert(writer, id="d" + "0" * 20, external_id=None, source="s", file_name="late.txt",
                     sha256="0" * 64, size_bytes=1, status=str(DocumentStatus.REGISTERED))
    seen: list = []
    def read():
        with app.engine.begin() as conn:
            seen.extend(documents.queued_since(conn, 0, 100))
    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)
    assert reader.is_alive()  # blocked until the registration commits
    transaction.commit()
    writer.close()
    reader.join(timeout=10)
    assert "d" + "0" * 20 in [doc_id for doc_id, _, _ in seen]


def test_deleting_an_original_brings_its_duplicate_back_into_search(app, instance, tmp_path):
    body = paragraph("cormorant colony", 20)
    original = register(app, write(tmp_path, "a.txt", body))
    duplicate = register(app, write(tmp_path, "b.txt", body))
    materialize(app, instance, [original, duplicate])
    assert _doc(app, duplicate).status is DocumentStatus.DUPLICATE
    assert delete_document(app, original, instance)
    materialize(app, instance, [duplicate])
    assert _doc(app, duplicate).status is DocumentStatus.EMBEDDED
    assert app.search("cormorant colony behaves under condition 4", k=1)[0].document_id == duplicate


def test_search_returns_k_hits_beyond_the_hnsw_default_of_40(app, tmp_path):
    doc_id = register(app, write(tmp_path, "many.txt", "x"))
    rng = random.Random(3)
    cut = [Chunk(i, f"chunk number {i}", 3, 1, 1) for i in range(600)]
    with app.engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "test", "random", 8)
        embeddings.store(conn, set_id, [(text_hash(c.text), [rng.uniform(-1, 1) for _ in range(8)]) for c in cut])
        chunks.stage(conn, doc_id, cut)
        chunks.publish(conn, doc_id)
    with app.engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # make the planner use the HNSW index
        hits = nearest_chunks(conn, set_id, 8, [0.5] * 8, k=75)
    assert len(hits) == 75
