"""Index upkeep: new vectors move into the HNSW index in batches (or by a rebuild when they are most of the set),
one upkeep per set at a time (a second one waits), every set behind is caught up, a set too wide to index is
searched exactly, and migration 0012 keeps old data."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from ingest_pipeline.search.nearest import nearest_chunks
from ingest_pipeline.store import embedding_sets, embeddings, index_upkeep
from ingest_pipeline.store.migrations import available_migrations, migrate
from ingest_pipeline_tests.scratch_postgres import scratch_database
from ingest_pipeline_tests.upkeep_locks import upkeep_held, wait_for_a_waiter
from ingest_pipeline_tests.vector_sets import add_documents, indexed_flags, publish, unit_rows

DIMENSIONS = 8


def _set_with(engine, counts: dict[str, int], seed: int = 1, dimensions: int = DIMENSIONS) -> tuple[int, dict]:
    rng = np.random.default_rng(seed)
    vectors = {doc: unit_rows(rng, n, dimensions) for doc, n in counts.items()}
    with engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "test", f"upkeep-{dimensions}", dimensions)
        add_documents(conn, list(vectors))
        publish(conn, set_id, vectors)
    return set_id, vectors


def test_most_of_a_set_new_is_a_rebuild_and_a_few_new_vectors_go_in_batches_over_connections(engine, monkeypatch):
    set_id, _ = _set_with(engine, {"first": 300})
    upkeep = index_upkeep.index_new_vectors(engine, set_id, DIMENSIONS)
    assert (upkeep.moved, upkeep.rebuilt) == (300, True)
    monkeypatch.setattr(index_upkeep, "UPKEEP_BATCH", 7)
    with engine.begin() as conn:
        add_documents(conn, ["second"])
        publish(conn, set_id, {"second": unit_rows(np.random.default_rng(2), 40, DIMENSIONS)})
    upkeep = index_upkeep.index_new_vectors(engine, set_id, DIMENSIONS)
    assert (upkeep.moved, upkeep.rebuilt) == (40, False)
    with engine.connect() as conn:
        assert indexed_flags(conn, set_id) == {True: 340} and embeddings.index_exists(conn, set_id)
    assert index_upkeep.index_new_vectors(engine, set_id, DIMENSIONS).moved == 0  # nothing left


def _buffers_to_find_unindexed(engine, set_id: int) -> int:
    """Pages read to list the set's unindexed vectors through their index, as search's exact branch does."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT chunk_id FROM chunk_embeddings "
                                 "WHERE set_id = :s AND NOT indexed"), {"s": set_id}).scalar_one()[0]["Plan"]
    return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]


def test_a_rebuild_leaves_no_old_rows_for_search_to_step_over(engine):
    set_id, _ = _set_with(engine, {"bulk": 5000})
    assert _buffers_to_find_unindexed(engine, set_id) > 20  # 5,000 new rows over dozens of pages
    assert index_upkeep.index_new_vectors(engine, set_id, DIMENSIONS).rebuilt
    # The move left 5,000 old row versions; vacuumed before the build, search no longer visits them.
    assert _buffers_to_find_unindexed(engine, set_id) <= 2


def test_a_second_upkeep_of_a_set_waits_for_the_one_under_way_then_takes_in_what_it_left(engine):
    set_id, _ = _set_with(engine, {"doc": 20})
    with ThreadPoolExecutor(1) as pool:
        with upkeep_held(engine, set_id):  # as another process's upkeep of this set would hold it
            assert index_upkeep.upkeep_under_way(engine)
            second = pool.submit(index_upkeep.index_new_vectors, engine, set_id, DIMENSIONS)
            wait_for_a_waiter(engine, set_id)
            assert index_upkeep.unindexed_count(engine, set_id) == 20  # waiting, not moving
            with engine.begin() as conn:  # published while the first one works: left for the second
                add_documents(conn, ["late"])
                publish(conn, set_id, {"late": unit_rows(np.random.default_rng(4), 5, DIMENSIONS)})
        upkeep = second.result(timeout=60)
    assert upkeep.moved == 25 and upkeep.waited_seconds > 0
    assert index_upkeep.unindexed_count(engine, set_id) == 0 and not index_upkeep.upkeep_under_way(engine)


def test_an_upkeep_waits_for_a_stuck_one_only_so_long(engine, monkeypatch):
    set_id, _ = _set_with(engine, {"doc": 3})
    monkeypatch.setattr(index_upkeep, "UPKEEP_WAIT_SECONDS", 0.5)
    monkeypatch.setattr(index_upkeep, "_TRY_SECONDS", 0.2)
    with upkeep_held(engine, set_id):
        upkeep = index_upkeep.index_new_vectors(engine, set_id, DIMENSIONS)
    assert upkeep.moved == 0 and f"another upkeep held embedding set {set_id}" in upkeep.skipped
    assert index_upkeep.unindexed_count(engine, set_id) == 3  # left for the next upkeep


def test_catch_up_takes_the_active_and_the_configured_set_the_active_first_and_no_other(engine):
    configured, _ = _set_with(engine, {"a": 5})
    wide = embeddings.MAX_INDEXED_DIMENSIONS + 96
    _set_with(engine, {"w": 3}, dimensions=wide)
    with engine.begin() as conn:
        retired = embeddings.ensure_set(conn, "test", "retired", DIMENSIONS)
        add_documents(conn, ["r"])
        publish(conn, retired, {"r": unit_rows(np.random.default_rng(5), 4, DIMENSIONS)})
        active = embeddings.ensure_set(conn, "test", "upkeep-active", DIMENSIONS)
        add_documents(conn, ["b"])
        publish(conn, active, {"b": unit_rows(np.random.default_rng(3), 5, DIMENSIONS)})
        embedding_sets.activate_if_none(conn, active)
    space = ("test", f"upkeep-{DIMENSIONS}", DIMENSIONS)
    assert [found.id for found in index_upkeep.sets_behind(engine, space)] == [active, configured]
    assert [(found.id, upkeep.moved) for found, upkeep in index_upkeep.catch_up(engine, space)] == [(active, 5),
                                                                                                  (configured, 5)]
    assert index_upkeep.sets_behind(engine, space) == [] and index_upkeep.unindexed_count(engine, retired) == 4
    with engine.begin() as conn:  # a rebuild cut short between dropping the index and building it again
        embeddings.drop_index(conn, configured)
    assert [found.id for found in index_upkeep.sets_behind(engine, space)] == [configured]
    [(_, upkeep)] = index_upkeep.catch_up(engine, space)
    with engine.connect() as conn:
        assert upkeep.rebuilt and embeddings.index_exists(conn, configured)


def test_a_set_wider_than_the_index_takes_is_searched_exactly(engine):
    wide = embeddings.MAX_INDEXED_DIMENSIONS + 96
    set_id, vectors = _set_with(engine, {"wide": 5}, dimensions=wide)
    upkeep = index_upkeep.index_new_vectors(engine, set_id, wide)
    assert upkeep.moved == 0 and "searched exactly" in upkeep.skipped
    with engine.begin() as conn:
        assert not embeddings.index_exists(conn, set_id)
        hits = nearest_chunks(conn, set_id, wide, vectors["wide"][3].tolist(), 1)
    assert hits[0].text == "wide chunk 3" and hits[0].score == pytest.approx(1.0, abs=1e-5)


def _old_store(url: str) -> list[tuple]:
    """A store as the pgvector 0.6 code left it: migrations up to 0009, a set with its vector(8) index."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                          "applied_at timestamptz NOT NULL DEFAULT now())"))
        for version, name, sql in available_migrations():
            if version <= 9:
                conn.exec_driver_sql(sql)
                conn.execute(text("INSERT INTO schema_migrations VALUES (:v, :n)"), {"v": version, "n": name})
        conn.execute(text("INSERT INTO documents (id, source, file_name, sha256, size_bytes, status) "
                          "VALUES ('old', 's', 'old.txt', 'x', 1, 'embedded')"))
        conn.execute(text("INSERT INTO embedding_sets (id, embedder, model, dimensions) VALUES (1, 'hashing', 'm', 8)"))
        vectors = unit_rows(np.random.default_rng(9), 30, DIMENSIONS)
        for i, row in enumerate(vectors):
            conn.execute(text("INSERT INTO chunks (id, document_id, ordinal, text, text_hash, token_count, page_start, "
                              "page_end) VALUES (:id, 'old', :i, :t, :t, 1, 1, 1)"), {"id": f"c{i}", "i": i, "t": f"old {i}"})
            conn.execute(text("INSERT INTO chunk_embeddings (chunk_id, set_id, embedding) VALUES (:id, 1, :v)"),
                         {"id": f"c{i}", "v": embeddings.vector_literal(row)})
        conn.exec_driver_sql("CREATE INDEX chunk_embeddings_hnsw_1 ON chunk_embeddings "
                             "USING hnsw ((embedding::vector(8)) vector_cosine_ops) WHERE set_id = 1")
        rows = conn.execute(text("SELECT chunk_id, embedding::text FROM chunk_embeddings ORDER BY 1")).all()
    engine.dispose()
    return rows


def test_migration_0012_keeps_every_vector_indexed_and_searchable_under_a_halfvec_index(database_url):
    with scratch_database(database_url, "old_vectors") as url:
        before = _old_store(url)
        engine = create_engine(url)
        assert "0012_halfvec_index_and_delta.sql" in migrate(engine)
        with engine.begin() as conn:
            after = conn.execute(text("SELECT chunk_id, embedding::text FROM chunk_embeddings ORDER BY 1")).all()
            definition = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'chunk_embeddings_hnsw_1'")
                                      ).scalar_one()
            assert after == before and indexed_flags(conn, 1) == {True: 30}
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            query = [float(x) for x in dict(before)["c7"].strip("[]").split(",")]
            assert nearest_chunks(conn, 1, DIMENSIONS, query, 1)[0].text == "old 7"
        engine.dispose()
    assert "halfvec(8)" in definition and "indexed" in definition
