"""Hybrid, keyword and vector search on real stores: a rare exact term is found by keyword and hybrid where vector
ranks it low, every hit carries its citation and scores, and filters get k hits at 1% of thousands of chunks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from ingest_pipeline.domain.ids import text_hash
from ingest_pipeline.domain.models import Chunk
from ingest_pipeline.embed.hashing import hashed_vector
from ingest_pipeline.search.nearest import Filters, SearchMode, find_chunks
from ingest_pipeline.store import chunks, documents, embeddings, index_upkeep
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write
from ingest_pipeline_tests.vector_sets import add_documents

RARE = "ERR_SSL_PROTOCOL_9F3"
QUERY = f"connection error {RARE}"
DIMENSIONS = 64
K = 10


def ingest_corpus(app, instance, folder) -> dict[str, str]:
    """Documents through the real pipeline; ids by file name. Only `handshake.md` holds the rare term, once, in a
    long chunk; six short `errors-N.md` say little but "connection error"."""
    files = {
        "handshake.md": "# TLS handshake\n\n" + paragraph("certificate chain", 8)
                        + f" A connection error {RARE} ends the handshake when the server certificate expired. "
                        + paragraph("cipher suite", 8),
        "otters.md": "# Otters\n\n" + paragraph("sea otter raft", 20),
        **{f"errors-{n}.md": f"# Connection errors {n}\n\nA connection error is logged. Each connection error "
                              f"counts. The connection error rate was {n} per hour, and no connection error is lost."
           for n in range(6)},
    }
    ids = {name: register(app, write(folder, name, body)) for name, body in files.items()}
    assert materialize(app, instance, list(ids.values())).success
    return ids


def test_a_rare_exact_term_is_found_by_keyword_and_hybrid_and_ranked_low_by_vector(app, instance, tmp_path):
    ids = ingest_corpus(app, instance, tmp_path / "corpus")
    found = {mode: app.search(QUERY, K, mode) for mode in SearchMode}
    for mode in (SearchMode.KEYWORD, SearchMode.HYBRID):
        assert found[mode][0].document_id == ids["handshake.md"] and RARE in found[mode][0].text, mode
    vector_place = [hit.document_id for hit in found[SearchMode.VECTOR]].index(ids["handshake.md"])
    assert vector_place >= 6  # all six short documents about "connection error" come first on vectors
    assert found[SearchMode.KEYWORD] and len(found[SearchMode.KEYWORD]) == 1  # every query word: only that chunk

    best = found[SearchMode.HYBRID][0]  # the citation and every component
    assert best.source.endswith("handshake.md") and best.media_type == "text/markdown"
    assert (best.page_start, best.page_end, best.pages) == (1, 1, "1")
    assert best.heading_path == ("TLS handshake",)
    assert "**connection** **error**" in best.snippet and RARE in best.snippet.replace("**", "")
    assert best.keyword_rank == 1 and best.keyword_score > 0 and best.vector_similarity is not None
    assert best.fused_score == best.score > 0
    vector_hit = found[SearchMode.VECTOR][0]
    assert vector_hit.score == vector_hit.vector_similarity and vector_hit.fused_score is None
    assert "**" not in vector_hit.snippet  # a leading excerpt, on one line
    assert " ".join(vector_hit.text.split()).startswith(vector_hit.snippet.removesuffix(" …"))
    keyword_hit = found[SearchMode.KEYWORD][0]
    assert keyword_hit.vector_similarity is None and keyword_hit.score == keyword_hit.keyword_score


def test_hybrid_fills_in_from_vectors_where_no_chunk_has_every_word(app, instance, tmp_path):
    ingest_corpus(app, instance, tmp_path / "corpus")
    assert app.search("otter raft zeppelin", K, SearchMode.KEYWORD) == []
    hits = app.search("otter raft zeppelin", K, SearchMode.HYBRID)
    assert hits and all(h.keyword_rank is None and h.vector_rank for h in hits)
    assert hits[0].heading_path == ("Otters",)


def _filtered_store(engine, documents_count: int = 100, chunks_each: int = 30) -> tuple[int, str]:
    """documents x chunks_each chunks (hashing vectors, all in the HNSW index); every chunk says "report"; the
    target document (1% of the chunks) is the only PDF, with external id `team-a/42`, metadata and a later date."""
    names = [f"doc{i:03d}" for i in range(documents_count)]
    words = ("ledger", "harbour", "quarterly", "audit", "vessel", "cargo", "tariff", "customs")
    with engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, "test", "hybrid", DIMENSIONS)
        add_documents(conn, names)
        for d, name in enumerate(names):
            cut = [Chunk(i, f"report {words[(d + i) % 8]} {words[(d * i) % 8]} section {d} part {i}", 8, 1, 1)
                   for i in range(chunks_each)]
            chunks.stage(conn, name, cut)
            embeddings.store(conn, set_id, [(text_hash(c.text), hashed_vector(c.text, DIMENSIONS)) for c in cut])
        current = {doc.id: doc.sha256 for doc in documents.get_many(conn, names)}
        assert len(chunks.publish_many(conn, set_id, current)) == documents_count
        target = names[42 % documents_count]
        conn.execute(text("UPDATE documents SET external_id = 'team-a/42', media_type = 'application/pdf', "
                          "metadata = '{\"team\": \"a\"}', created_at = now() + interval '1 day' WHERE id = :id"),
                     {"id": target})
    index_upkeep.index_new_vectors(engine, set_id, DIMENSIONS)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return set_id, target


@pytest.mark.parametrize("mode", [SearchMode.KEYWORD, SearchMode.HYBRID, SearchMode.VECTOR])
def test_a_filter_matching_one_percent_of_3000_chunks_gets_k_hits_in_every_mode(engine, mode):
    set_id, target = _filtered_store(engine)
    later = datetime.now(timezone.utc) + timedelta(hours=12)
    vector = hashed_vector("report ledger harbour", DIMENSIONS)  # "report" is in every chunk: keyword ranks them all
    for filters in (Filters(document_ids=[target]), Filters(external_id_prefix="team-a/"),
                    Filters(media_types=["application/pdf"]), Filters(metadata={"team": "a"}),
                    Filters(ingested_after=later), Filters(ingested_before=later)):
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # make the planner use the indexes it has
            hits = find_chunks(conn, mode, K, text="report", vector=vector, set_id=set_id, dimensions=DIMENSIONS,
                               filters=filters)
        assert len(hits) == K, filters
        expected = {f"doc{i:03d}" for i in range(100)} - {target} if filters.ingested_before else {target}
        assert {h.document_id for h in hits} <= expected, filters


def test_a_filter_matching_nothing_or_fewer_than_k_returns_those(engine):
    set_id, target = _filtered_store(engine, documents_count=10, chunks_each=5)
    vector = hashed_vector("report", DIMENSIONS)
    with engine.begin() as conn:
        for mode in SearchMode:
            assert find_chunks(conn, mode, K, text="report", vector=vector, set_id=set_id, dimensions=DIMENSIONS,
                               filters=Filters(external_id_prefix="team-b")) == []
            hits = find_chunks(conn, mode, K, text="report", vector=vector, set_id=set_id, dimensions=DIMENSIONS,
                               filters=Filters(document_ids=[target]))
            assert len(hits) == 5 and {h.document_id for h in hits} == {target}


def test_a_chunk_is_found_by_keyword_the_moment_it_is_published(engine):
    set_id, _ = _filtered_store(engine, documents_count=5, chunks_each=5)
    with engine.begin() as conn:
        add_documents(conn, ["fresh"])
        cut = [Chunk(0, f"a fresh chunk naming {RARE}", 5, 1, 1)]
        chunks.stage(conn, "fresh", cut)
        embeddings.store(conn, set_id, [(text_hash(cut[0].text), hashed_vector(cut[0].text, DIMENSIONS))])
        chunks.publish(conn, "fresh")
    with engine.begin() as conn:
        for mode in SearchMode:
            hits = find_chunks(conn, mode, 1, text=RARE, vector=hashed_vector(RARE, DIMENSIONS), set_id=set_id,
                               dimensions=DIMENSIONS)
            assert hits[0].document_id == "fresh", mode


@pytest.mark.parametrize("arguments, reason", [
    ({"external_id_prefix": ""}, "non-empty"),
    ({"media_types": "application/pdf"}, "must be a list"),
    ({"ingested_after": "2024-01-01"}, "date and time"),
    ({"ingested_after": datetime(2024, 2, 1), "ingested_before": datetime(2024, 1, 1)}, "earlier than"),
    ({"metadata": {"x": float("nan")}}, "plain JSON"),
    ({"document_ids": ["a\x00b"]}, "NUL"),
])
def test_a_malformed_filter_is_refused_with_its_reason(arguments, reason):
    with pytest.raises(ValueError, match=reason):
        Filters(**arguments)


def test_a_naive_time_is_taken_as_utc():
    assert Filters(ingested_after=datetime(2024, 1, 1)).ingested_after == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_a_time_with_any_offset_is_compared_in_utc(app):
    # Postgres refuses offsets beyond ±15:59; ISO 8601 (and the API's schema) allow +16:00.
    after = Filters(ingested_after=datetime.fromisoformat("2000-01-01T00:00:00+16:00")).ingested_after
    assert after == datetime(1999, 12, 31, 8, tzinfo=timezone.utc) and after.utcoffset().total_seconds() == 0
    with app.engine.connect() as conn:
        clause, params = Filters(ingested_after=after).where()
        assert conn.execute(text(f"SELECT count(*) FROM documents d WHERE true {clause}"), params).scalar() == 0
