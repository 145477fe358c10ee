"""Bulk writes keep the catalog's contracts: exact vectors by COPY, all-or-nothing publishing per document, the index back."""

from __future__ import annotations

import logging
import os
import random

import numpy as np
from sqlalchemy import text

from ingest_pipeline.domain.ids import text_hash
from ingest_pipeline.domain.models import Chunk
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.embed import publish
from ingest_pipeline.embed import stage as embed
from ingest_pipeline.embed.batching import BatchLimits
from ingest_pipeline.embed.resource import HashingEmbedder
from ingest_pipeline.store import chunks, documents, embeddings, index_upkeep
from ingest_pipeline.store import engine as engine_module
from ingest_pipeline.store.bulk import PAGE_SIZE
from ingest_pipeline_tests.pipeline_runs import register, write


def _hnsw_present(conn, set_id: int) -> bool:
    return conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": f"chunk_embeddings_hnsw_{set_id}"}).scalar()


def _staged(app, doc_id: str, texts: list[str]) -> list[Chunk]:
    cut = [Chunk(i, t, 3, 1, 1) for i, t in enumerate(texts)]
    with app.engine.begin() as conn:
        chunks.stage(conn, doc_id, cut)
        documents.update(conn, doc_id, status=str(DocumentStatus.CHUNKED))
    return cut


def test_vectors_stored_by_copy_come_back_exactly_and_a_stored_hash_is_kept(engine):
    rng = np.random.default_rng(1)
    first = [(f"h{i}", rng.standard_normal(1536).astype(np.float32).tolist()) for i in range(3)]
    with engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "test", "copy", 1536)
        embeddings.store(conn, set_id, first[:2])
        # A second store in the same transaction; h1 again with another vector must not replace it.
        embeddings.store(conn, set_id, [first[2], ("h1", [0.0] * 1536)])
        rows = dict(conn.execute(text("SELECT text_hash, embedding::text FROM embedding_cache WHERE set_id = :s"),
                                 {"s": set_id}).all())
    assert sorted(rows) == ["h0", "h1", "h2"]
    for digest, vector in first:
        assert np.array_equal(np.array(rows[digest].strip("[]").split(","), dtype=np.float32), np.array(vector, dtype=np.float32))


def test_staging_streams_many_chunks_and_counts_them(app, tmp_path):
    doc_id = register(app, write(tmp_path, "long.txt", "x"))
    cut = (Chunk(i, f"chunk {i}", 2, 1, 1) for i in range(PAGE_SIZE * 2 + 7))
    with app.engine.begin() as conn:
        assert chunks.stage(conn, doc_id, cut) == (PAGE_SIZE * 2 + 7, 2 * (PAGE_SIZE * 2 + 7))
        assert conn.execute(text("SELECT count(*) FROM staged_chunks WHERE document_id = :d"), {"d": doc_id}).scalar() \
            == PAGE_SIZE * 2 + 7


def test_publish_many_publishes_only_documents_whose_every_text_has_a_vector(app, tmp_path):
    ready, lacking, changed = (register(app, write(tmp_path, f"{n}.txt", n)) for n in ("ready", "lacking", "changed"))
    cut = {doc: _staged(app, doc, [f"{doc} one", f"{doc} two"]) for doc in (ready, lacking, changed)}
    with app.engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "test", "bulk", 3)
        known = [text_hash(c.text) for doc in (ready, changed) for c in cut[doc]] + [text_hash(cut[lacking][0].text)]
        embeddings.store(conn, set_id, [(h, [1.0, 0.0, 0.0]) for h in known])
        versions = {doc.id: doc.sha256 for doc in documents.get_many(conn, [ready, lacking, changed])}
        versions[changed] = "a version nobody has any more"
        assert chunks.publish_many(conn, set_id, versions) == {ready: (2, 6)}
        live = conn.execute(text("SELECT document_id, count(*) FROM chunks GROUP BY 1")).all()
        vectors = conn.execute(text("SELECT count(*) FROM chunk_embeddings")).scalar()
        staged = conn.execute(text("SELECT count(*) FROM staged_chunks WHERE document_id = :d"), {"d": ready}).scalar()
    assert live == [(ready, 2)] and vectors == 2 and staged == 0


def test_a_bulk_load_into_an_empty_set_is_published_unindexed_and_one_upkeep_builds_its_index(app, tmp_path, monkeypatch):
    monkeypatch.setattr(publish, "PUBLISH_BATCH", 2)  # several transactions, like a large run
    rng = random.Random(5)
    ids = [register(app, write(tmp_path, f"d{i}.txt", f"document {i}")) for i in range(5)]
    for doc in ids:
        _staged(app, doc, [f"{doc} {rng.random()}" for _ in range(3)])
    embedder = HashingEmbedder(dimensions=16)
    result = embed.embed_pending(app.engine, ids, embedder)
    with app.engine.connect() as conn:
        statuses = {doc.status for doc in documents.get_many(conn, ids)}
        vectors = conn.execute(text("SELECT count(*) FROM chunk_embeddings WHERE set_id = :s"), {"s": result.set_id}).scalar()
    # Published and searchable (exactly) before any upkeep: the ingest does not wait for the index.
    assert statuses == {DocumentStatus.EMBEDDED} and vectors == 15
    assert index_upkeep.unindexed_count(app.engine, result.set_id) == 15
    assert set(result.published) == set(ids) and all(f["chunks"] == 3 for f in result.published.values())
    [(caught_up, upkeep)] = index_upkeep.catch_up(app.engine)
    assert caught_up.id == result.set_id and upkeep.rebuilt and upkeep.moved == 15  # one build, not 15 inserts
    with app.engine.connect() as conn:
        assert _hnsw_present(conn, result.set_id) and index_upkeep.unindexed_count(app.engine, result.set_id) == 0
    assert index_upkeep.sets_behind(app.engine) == []


class _OneTextPerRequest(HashingEmbedder):
    """The local embedder, one text per request, noting how many documents were searchable at each request."""

    @property
    def batch_limits(self) -> BatchLimits:
        return BatchLimits(max_inputs=1, max_tokens=1_000, max_tokens_per_input=1_000)

    def embed_batch(self, texts, token_counts):
        with WATCHED["engine"].connect() as conn:
            SEEN.append(conn.execute(text("SELECT count(*) FROM documents WHERE status = 'embedded'")).scalar())
        return super().embed_batch(texts, token_counts)


SEEN: list[int] = []
WATCHED: dict = {}


def test_documents_are_published_as_their_vectors_arrive_not_after_the_last_request(app, tmp_path):
    ids = [register(app, write(tmp_path, f"d{i}.txt", f"document {i}")) for i in range(4)]
    for doc in ids:
        _staged(app, doc, [f"{doc} first", f"{doc} second"])
    SEEN.clear()
    WATCHED["engine"] = app.engine
    result = embed.embed_pending(app.engine, ids, _OneTextPerRequest(dimensions=16))
    assert set(result.published) == set(ids) and len(SEEN) == 8
    # Two requests are in flight at a time: when the last goes out, a document is already searchable.
    assert SEEN[0] == 0 and SEEN[-1] >= 1 and SEEN == sorted(SEEN)


def test_an_ingest_leaves_an_existing_sets_missing_index_to_the_upkeep(engine):
    with engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "test", "index", 8)
        assert _hnsw_present(conn, set_id)  # a new set's, empty: built at once
        embeddings.drop_index(conn, set_id)  # as a rebuild cut short before building it again
    with engine.begin() as conn:
        # Building it here would hold up this ingest's publishing for the whole build.
        assert embeddings.ensure_set(conn, "test", "index", 8) == set_id
        assert not _hnsw_present(conn, set_id)


def _wide_set(app, tmp_path, rows: int = 1200) -> int:
    """A 1,536-dimension set large enough (over 8 MB of heap) for Postgres to plan parallel index builds."""
    doc_id = register(app, write(tmp_path, "wide.txt", "wide"))
    cut = _staged(app, doc_id, [f"wide chunk {i}" for i in range(rows)])
    vectors = np.random.default_rng(7).standard_normal((rows, 1536)).astype(np.float32)
    with app.engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "test", "wide", 1536)
        embeddings.drop_index(conn, set_id)
        embeddings.store(conn, set_id, [(text_hash(c.text), v) for c, v in zip(cut, vectors)])
        assert chunks.publish_many(conn, set_id, {doc_id: documents.get(conn, doc_id).sha256}) == {doc_id: (rows, 3 * rows)}
    return set_id


def _build_index_noting_workers(app, set_id: int, caplog, maintenance_work_mem: str | None = None) -> list[str]:
    """The upkeep's concurrent build, hearing Postgres's DEBUG notes on how it builds (SQLAlchemy logs server
    notices)."""
    caplog.set_level(logging.INFO, logger="sqlalchemy.dialects.postgresql")
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SET client_min_messages = debug1"))
        if maintenance_work_mem:  # as an operator's setting for the role or database would be
            conn.execute(text(f"SET maintenance_work_mem = '{maintenance_work_mem}'"))
        caplog.clear()
        try:
            embeddings.build_index_concurrently(conn, set_id, 1536)
        finally:
            conn.execute(text("RESET client_min_messages"))
        assert _hnsw_present(conn, set_id)
        valid = conn.execute(text("SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'chunk_embeddings'::regclass"
                                  )).scalar_one()
        assert valid  # the failed try left no invalid index
    return [r.getMessage() for r in caplog.records if "parallel workers" in r.getMessage() or "serially" in r.getMessage()]


def test_wide_vectors_are_stored_inline_and_a_large_set_builds_its_index_with_parallel_workers(app, tmp_path, caplog):
    set_id = _wide_set(app, tmp_path)
    with app.engine.connect() as conn:
        toasted = conn.execute(text(
            "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname IN ('chunk_embeddings', 'embedding_cache')"
        )).scalars().all()
    assert toasted == [0, 0]
    assert any(note.startswith("DEBUG:  using") for note in _build_index_noting_workers(app, set_id, caplog))


def test_an_index_build_short_of_shared_memory_for_its_workers_builds_without_them(app, tmp_path, caplog):
    set_id = _wide_set(app, tmp_path)
    # More maintenance_work_mem than /dev/shm holds: the workers' shared segment cannot be sized (ENOSPC,
    # refused at once, nothing allocated), as in a container with Docker's 64 MB /dev/shm.
    shm = os.statvfs("/dev/shm")
    more_than_shared_memory = f"{2 * shm.f_blocks * shm.f_frsize // 1024 + 1024}kB"
    notes = _build_index_noting_workers(app, set_id, caplog, more_than_shared_memory)
    assert not any(note.startswith("DEBUG:  using") for note in notes)
    assert "building it without them" in caplog.text and "No space left on device" in caplog.text


def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced(engine, monkeypatch):
    monkeypatch.setattr(engine_module, "STALE_AFTER_SECONDS", 0.0)
    engine.dispose()  # earlier tests (index upkeep's connections) leave several idle: the victim must be the one handed out
    with engine.connect() as other:
        with engine.connect() as conn:
            victim = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        # `victim` now waits in the pool; the server ends it behind the pool's back.
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != victim
