"""Embedding sets in the store: the active set, coverage, the automatic switch once a set is complete, and the
refusals of `switch` (an incomplete set) and `drop` (the active set), with what a drop frees."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from ingest_pipeline.domain.ids import text_hash
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.search.nearest import nearest_chunks
from ingest_pipeline.store import chunks, embedding_sets, embeddings
from ingest_pipeline.store.embedding_sets import SetRefused
from ingest_pipeline.store.migrations import available_migrations
from ingest_pipeline_tests.vector_sets import add_documents, publish, unit_rows

DIMENSIONS = 8
DOCUMENTS = ("alpha", "beta", "gamma")


@pytest.fixture
def two_sets(engine):
    """Set `old` covers three embedded documents (two chunks each); set `new` has vectors for the first two."""
    rng = np.random.default_rng(3)
    with engine.begin() as conn:
        old = embeddings.ensure_set(conn, "test", "old", DIMENSIONS)
        new = embeddings.ensure_set(conn, "test", "new", DIMENSIONS)
        add_documents(conn, DOCUMENTS)
        texts = publish(conn, old, {doc: unit_rows(rng, 2, DIMENSIONS) for doc in DOCUMENTS})
        conn.execute(text("UPDATE documents SET status = :s"), {"s": str(DocumentStatus.EMBEDDED)})
        assert embedding_sets.activate_if_none(conn, old) and not embedding_sets.activate_if_none(conn, new)
        _fill(conn, new, texts, DOCUMENTS[:2], rng)
    return old, new, texts


def _fill(conn, set_id, texts, documents, rng) -> None:
    for doc in documents:
        embeddings.store(conn, set_id, [(text_hash(t), row) for t, row in zip(texts[doc], unit_rows(rng, 2, DIMENSIONS))])
        chunks.attach_cached_vectors(conn, doc)


def test_coverage_counts_embedded_documents_whose_every_chunk_has_a_vector(engine, two_sets):
    old, new, _ = two_sets
    with engine.connect() as conn:
        found = {c.set.id: c for c in embedding_sets.coverage(conn)}
        assert embedding_sets.active_set(conn).id == old
        assert embedding_sets.documents_lacking(conn, new) == ["gamma"]
        assert embedding_sets.documents_lacking(conn, None) == sorted(DOCUMENTS)
    assert (found[old].documents, found[old].chunks, found[old].complete) == (3, 6, True)
    assert (found[new].documents, found[new].chunks, found[new].of_documents, found[new].of_chunks) == (2, 4, 3, 6)
    assert not found[new].complete and found[old].index_bytes > 0


def test_an_incomplete_set_is_not_switched_to_unless_forced(engine, two_sets):
    old, new, _ = two_sets
    with engine.begin() as conn:
        with pytest.raises(SetRefused, match=r"covers 2 of 3 embedded documents \(4 of 6 chunks\).*--force"):
            embedding_sets.switch(conn, "test/new/8")
        assert not embedding_sets.switch_when_complete(conn, new)
        assert embedding_sets.active_set(conn).id == old
    with engine.begin() as conn:
        chosen, replaced = embedding_sets.switch(conn, str(new), force=True)
    assert (chosen.id, replaced.id) == (new, old)
    with engine.connect() as conn:
        assert [s.id for s in embedding_sets.all_sets(conn) if s.active] == [new]


def test_a_set_becomes_active_in_the_transaction_that_finds_it_complete(engine, two_sets):
    old, new, texts = two_sets
    with engine.begin() as conn:
        _fill(conn, new, texts, ["gamma"], np.random.default_rng(4))
        assert embedding_sets.switch_when_complete(conn, new)
        assert not embedding_sets.switch_when_complete(conn, new)  # already active: nothing to do
    with engine.connect() as conn:
        assert embedding_sets.active_set(conn).id == new
        assert embedding_sets.coverage(conn, [new])[0].complete


def test_drop_refuses_the_active_set_and_frees_another_sets_rows_and_index(engine, two_sets):
    old, new, texts = two_sets
    with engine.begin() as conn:
        with pytest.raises(SetRefused, match="is the one search answers from; switch to another set first"):
            embedding_sets.drop(conn, str(old))
        with pytest.raises(SetRefused, match=r"no embedding set 'test/none/8'; the sets are: .*test/old/8"):
            embedding_sets.drop(conn, "test/none/8")
        dropped, vectors, cached = embedding_sets.drop(conn, "test/new/8")
    assert (dropped.id, vectors, cached) == (new, 4, 4)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT (SELECT count(*) FROM chunk_embeddings WHERE set_id = :s),"
                                 " (SELECT count(*) FROM embedding_cache WHERE set_id = :s),"
                                 " (SELECT count(*) FROM embedding_sets WHERE id = :s)"), {"s": new}).one()
        assert tuple(left) == (0, 0, 0) and embeddings.index_bytes(conn, new) is None
        assert embeddings.index_bytes(conn, old) > 0
        query = conn.execute(text("SELECT embedding::real[] FROM embedding_cache WHERE set_id = :s LIMIT 1"),
                             {"s": old}).scalar_one()
        assert nearest_chunks(conn, old, DIMENSIONS, query, 1)[0].score == pytest.approx(1.0, abs=1e-5)


def test_the_migration_makes_the_set_with_the_most_vectors_active(engine, two_sets):
    old, new, _ = two_sets
    (sql,) = [sql for _, name, sql in available_migrations() if name.endswith("_active_embedding_set.sql")]
    choose = sql[sql.index("UPDATE embedding_sets"):]
    with engine.begin() as conn:
        conn.execute(text("UPDATE embedding_sets SET active = false"))
        conn.exec_driver_sql(choose)
        assert embedding_sets.active_set(conn).id == old
