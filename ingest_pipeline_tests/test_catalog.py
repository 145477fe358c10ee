"""The SQL store: idempotent migrations, one HNSW index per embedding set, and atomic publishing of chunks."""

from __future__ import annotations

from sqlalchemy import text

from ingest_pipeline.domain.ids import text_hash
from ingest_pipeline.domain.models import Chunk
from ingest_pipeline.store import chunks, embeddings
from ingest_pipeline.store.migrations import available_migrations, migrate
from ingest_pipeline_tests.pipeline_runs import register, write


def test_migrations_apply_once_and_are_recorded(engine):
    assert migrate(engine) == []
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version FROM schema_migrations ORDER BY version")).scalars().all()
    assert versions == [version for version, _, _ in available_migrations()]


def test_each_embedding_set_gets_its_own_hnsw_index_and_sets_live_side_by_side(engine):
    with engine.begin() as conn:
        small = embeddings.ensure_set(conn, "openai", "text-embedding-3-small", 1536)
        again = embeddings.ensure_set(conn, "openai", "text-embedding-3-small", 1536)
        short = embeddings.ensure_set(conn, "openai", "text-embedding-3-small", 512)
        wide = embeddings.ensure_set(conn, "openai", "text-embedding-3-large", 3072)
        wider = embeddings.ensure_set(conn, "local", "very-wide", 4096)
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'chunk_embeddings'")).all()
    assert small == again and len({small, short, wide, wider}) == 4
    definitions = {name: definition for name, definition in indexes}
    assert "hnsw" in definitions[f"chunk_embeddings_hnsw_{small}"]
    assert "halfvec(512)" in definitions[f"chunk_embeddings_hnsw_{short}"]
    assert "halfvec(3072)" in definitions[f"chunk_embeddings_hnsw_{wide}"]  # halfvec indexes take 4,000
    assert f"chunk_embeddings_hnsw_{wider}" not in definitions  # over it: searched exactly


def test_publish_swaps_all_chunks_of_a_document_at_once(app, tmp_path):
    doc_id = register(app, write(tmp_path, "a.txt", "text"))
    old = [Chunk(0, "old one", 2, 1, 1), Chunk(1, "old two", 2, 1, 1)]
    new = [Chunk(0, "new only", 2, 1, 1)]
    with app.engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "hashing", "m", 3)
        embeddings.store(conn, set_id, [(c, [1.0, 0.0, 0.0]) for c in _hashes(old + new)])
        chunks.stage(conn, doc_id, old)
        assert chunks.publish(conn, doc_id) == (2, 4)
        chunks.stage(conn, doc_id, new)
        # Staged but unpublished chunks are invisible to search.
        assert conn.execute(text("SELECT count(*) FROM chunks")).scalar_one() == 2
        assert chunks.publish(conn, doc_id) == (1, 2)
        texts = conn.execute(text("SELECT text FROM chunks")).scalars().all()
        vectors = conn.execute(text("SELECT count(*) FROM chunk_embeddings")).scalar_one()
    assert texts == ["new only"] and vectors == 1


def _hashes(cut):
    return [text_hash(c.text) for c in cut]
