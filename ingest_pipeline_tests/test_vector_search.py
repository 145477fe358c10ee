"""Search over an embedding set: a chunk is found the moment it is published, before the index upkeep, and a
filter (document, external id, version, metadata) gets k hits whenever k exist, where a plain HNSW query does not."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from ingest_pipeline.search.nearest import Filters, nearest_chunks
from ingest_pipeline.store import embeddings, index_upkeep
from ingest_pipeline.store import nearest as store_nearest
from ingest_pipeline.store.embeddings import vector_literal
from ingest_pipeline_tests.vector_sets import add_documents, indexed_flags, publish, unit_rows

DIMENSIONS = 16
K = 10


def _indexed_set(engine, documents: int, chunks_each: int, seed: int) -> tuple[int, dict[str, np.ndarray]]:
    """A set of documents x chunks_each random vectors, all in the HNSW index, analysed for the planner."""
    rng = np.random.default_rng(seed)
    vectors = {f"doc{i:03d}": unit_rows(rng, chunks_each, DIMENSIONS) for i in range(documents)}
    with engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "test", "search", DIMENSIONS)
        add_documents(conn, list(vectors))
        publish(conn, set_id, vectors)
    assert index_upkeep.index_new_vectors(engine, set_id, DIMENSIONS).moved == documents * chunks_each
    with engine.begin() as conn:
        conn.execute(text("ANALYZE chunk_embeddings"))
    return set_id, vectors


def _prefer_the_index(conn) -> None:
    """Make the planner answer from the HNSW index whenever it can: on tables this small it would often
    sort the filtered rows exactly instead, which is right but would not exercise the index scan."""
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    conn.execute(text("SET LOCAL enable_sort = off"))


def _search(engine, set_id: int, query, k: int = K, filters: Filters | None = None):
    with engine.begin() as conn:
        _prefer_the_index(conn)
        return nearest_chunks(conn, set_id, DIMENSIONS, list(map(float, query)), k, filters)


def test_a_chunk_is_found_the_moment_it_is_published_before_the_upkeep_indexes_it(engine):
    set_id, _ = _indexed_set(engine, documents=20, chunks_each=100, seed=1)
    fresh = unit_rows(np.random.default_rng(2), 3, DIMENSIONS)
    with engine.begin() as conn:
        add_documents(conn, ["fresh"])
        publish(conn, set_id, {"fresh": fresh})
        assert indexed_flags(conn, set_id) == {True: 2000, False: 3}  # published outside the index
    for row in fresh:
        hit = _search(engine, set_id, row, k=1)[0]
        assert hit.document_id == "fresh" and hit.score == pytest.approx(1.0, abs=1e-5)
    assert [h.document_id for h in _search(engine, set_id, fresh[0], filters=Filters(document_ids=["fresh"]))] \
        == ["fresh"] * 3
    upkeep = index_upkeep.index_new_vectors(engine, set_id, DIMENSIONS)
    assert (upkeep.moved, upkeep.rebuilt) == (3, False)  # a few new vectors: inserted, not a rebuild
    assert all(_search(engine, set_id, row, k=1)[0].document_id == "fresh" for row in fresh)


def _plain_hnsw_count(engine, set_id: int, query) -> int:
    """What a plain HNSW query answers for the metadata filter: the index's first ef_search rows (400, ten times
    pgvector's default), then the filter."""
    with engine.begin() as conn:
        _prefer_the_index(conn)
        conn.execute(text("SET LOCAL hnsw.ef_search = 400"))
        distance = f"e.embedding::halfvec({DIMENSIONS}) <=> CAST(:q AS vector)::halfvec({DIMENSIONS})"
        return len(conn.execute(text(
            f"SELECT e.chunk_id FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON "
            f"d.id = c.document_id WHERE e.set_id = {set_id} AND e.indexed AND d.metadata @> '{{\"team\": \"blue\"}}' "
            f"ORDER BY {distance} LIMIT {K}"), {"q": vector_literal(query)}).all())


def test_a_filter_matching_one_percent_of_20k_chunks_still_gets_k_hits(engine, monkeypatch):
    set_id, vectors = _indexed_set(engine, documents=100, chunks_each=200, seed=3)
    target = "doc042"
    with engine.begin() as conn:
        conn.execute(text("UPDATE documents SET external_id = 'ext-42', version = 2, "
                          "metadata = '{\"team\": \"blue\", \"tags\": [\"a\", \"b\"]}' WHERE id = :d"), {"d": target})
    query = unit_rows(np.random.default_rng(4), 1, DIMENSIONS)[0]
    assert _plain_hnsw_count(engine, set_id, query) < K  # the old query misses
    # Through the index: 200 matching rows would otherwise be scanned exactly from the start (the next test).
    monkeypatch.setattr(store_nearest, "EXACT_SCAN_ROWS", 0)
    exact = set(np.argsort(-(vectors[target] @ query))[:K].tolist())
    for filters in (Filters(document_ids=[target]), Filters(external_ids=["ext-42"]), Filters(versions=[2]),
                    Filters(metadata={"team": "blue"}), Filters(metadata={"tags": ["b"]})):
        hits = _search(engine, set_id, query, filters=filters)
        assert len(hits) == K and {h.document_id for h in hits} == {target}, filters
        found = {int(h.text.rsplit(" ", 1)[1]) for h in hits}
        assert len(found & exact) >= K - 1, filters
    # An index scan that stops early (here: never goes past its first ef_search rows) leaves the answer to
    # an exact scan over every matching row.
    monkeypatch.setattr(store_nearest, "ITERATIVE_SCAN", "off")
    hits = _search(engine, set_id, query, filters=Filters(metadata={"team": "blue"}))
    assert {int(h.text.rsplit(" ", 1)[1]) for h in hits} == exact


def test_a_filter_few_vectors_pass_is_scanned_exactly_and_a_broad_one_goes_through_the_index(engine, monkeypatch):
    set_id, vectors = _indexed_set(engine, documents=20, chunks_each=100, seed=7)
    monkeypatch.setattr(store_nearest, "EXACT_SCAN_ROWS", 500)
    few, many = Filters(document_ids=["doc003", "doc004"]), Filters(document_ids=[f"doc{i:03d}" for i in range(6)])
    with engine.connect() as conn:
        assert store_nearest.few_match(conn, set_id, few) and not store_nearest.few_match(conn, set_id, many)
    query = unit_rows(np.random.default_rng(8), 1, DIMENSIONS)[0]
    for filters in (few, many):
        allowed = np.vstack([vectors[doc] for doc in filters.document_ids])
        best = float(np.max(allowed @ query))
        hits = _search(engine, set_id, query, filters=filters)
        assert len(hits) == K and hits[0].score == pytest.approx(best, abs=1e-3), filters
        assert {h.document_id for h in hits} <= set(filters.document_ids)


def test_a_filter_that_matches_fewer_than_k_chunks_returns_those_and_no_others(engine):
    set_id, _ = _indexed_set(engine, documents=10, chunks_each=50, seed=5)
    query = unit_rows(np.random.default_rng(6), 1, DIMENSIONS)[0]
    assert _search(engine, set_id, query, filters=Filters(metadata={"team": "nobody"})) == []
    hits = _search(engine, set_id, query, k=80, filters=Filters(document_ids=["doc001", "doc002"]))
    assert len(hits) == 80 and {h.document_id for h in hits} == {"doc001", "doc002"}


@pytest.mark.parametrize("arguments, reason", [
    ({"metadata": ["team"]}, "must be a JSON object"),
    ({"document_ids": "doc001"}, "must be a list"),
    ({"versions": ["2"]}, "whole numbers"),
])
def test_a_malformed_filter_is_refused_with_its_reason(arguments, reason):
    with pytest.raises(ValueError, match=reason):
        Filters(**arguments)
