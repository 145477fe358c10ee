"""One SQL query per search: the vector top-N (store/nearest.py), the full-text top-N (websearch_to_tsquery over
the chunks' generated tsvector), fused by reciprocal rank fusion, with every component's score and a
highlighted snippet (ts_headline) for the k best."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import Connection, Row, text

from ingest_pipeline.domain.search_modes import SearchMode
from ingest_pipeline.store import nearest
from ingest_pipeline.store.embeddings import vector_literal
from ingest_pipeline.store.search_filters import Filters

# Both the tsvector column and the queries read words with this configuration and punctuation (migration 0013).
_TSQUERY = "websearch_to_tsquery(chunk_search_config(), chunk_search_words(:text))"
# ts_rank_cd normalisation 1: divide by 1 + log(document length), so long chunks do not win on length alone.
_RANK = f"ts_rank_cd(c.search_vector, {_TSQUERY}, 1)"
# Markdown bold around matched words; up to two fragments of a chunk, joined by an ellipsis.
HEADLINE_OPTIONS = 'StartSel=**, StopSel=**, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
_NO_RANKS = "SELECT NULL::text AS chunk_id, NULL::bigint AS rank WHERE false"


@dataclass(frozen=True)
class Fusion:
    """Reciprocal rank fusion: each list adds weight / (rrf_k + rank) for a chunk it ranks within its depth.

    Tuned on benchmarks/retrieval.py (--sweep, on other queries than the ones README reports): with the lexical
    hashing embedder the keyword ranking is the sharper one, and the textbook rrf_k=60 at equal weights ranked
    below keyword alone (MRR 0.86 against 0.95). A small rrf_k and a keyword weight of 4 keep keyword's first
    places unless the vector ranking agrees on a lower one, and let the vector ranking reorder the rest and
    fill in where no keyword matches: at or above both modes on every query kind."""

    rrf_k: int = 1
    vector_depth: int = 40
    keyword_depth: int = 40
    vector_weight: float = 1.0
    keyword_weight: float = 4.0


FUSION = Fusion()


@dataclass(frozen=True)
class Query:
    """What one search asks: the text (keyword side, snippets) and/or the vector of one embedding set."""

    k: int
    mode: SearchMode
    text: str | None = None
    vector: Sequence[float] | None = None
    set_id: int | None = None
    dimensions: int | None = None
    filters: Filters = Filters()
    fusion: Fusion = FUSION


def ranked_rows(conn: Connection, query: Query) -> list[Row]:
    """(document_id, source, page_start, page_end, heading_path, vector similarity, text, chunk_id, external_id,
    media_type, vector_rank, keyword score, keyword_rank, fused score, snippet), best first. A filter that few
    vectors pass is answered by an exact scan over them; with one that many pass, a search whose index scan
    gave up before k rows matched is asked again with an exact scan over the matching rows."""
    if query.mode.uses_vectors and (query.vector is None or query.set_id is None):
        raise ValueError(f"a {query.mode} search needs a query vector and an embedding set")
    if query.mode.uses_keywords and not query.text:
        raise ValueError(f"a {query.mode} search needs query text")
    vector_depth = max(query.k, query.fusion.vector_depth if query.mode is SearchMode.HYBRID else query.k)
    filtered = query.mode.uses_vectors and bool(query.filters)
    if filtered and nearest.few_match(conn, query.set_id, query.filters):
        return _run(conn, query, vector_depth, use_index=False)
    if query.mode.uses_vectors:
        nearest.prepare_scan(conn, vector_depth, query.filters)
    rows = _run(conn, query, vector_depth, use_index=True)
    if filtered and len(rows) < query.k:
        rows = _run(conn, query, vector_depth, use_index=False)
    return rows


def _run(conn: Connection, query: Query, vector_depth: int, use_index: bool) -> list[Row]:
    fusion, filters = query.fusion, query.filters
    conditions, params = filters.where()
    vector_side = (nearest.vector_ranked(query.set_id, query.dimensions, filters, use_index)
                   if query.mode.uses_vectors else f"vector_ranked AS ({_NO_RANKS})")
    keyword_side = (f"keyword_ranked AS MATERIALIZED (SELECT c.id AS chunk_id, row_number() OVER "
                    f"(ORDER BY {_RANK} DESC, c.id) AS rank FROM chunks c JOIN documents d ON d.id = c.document_id "
                    f"WHERE c.search_vector @@ {_TSQUERY} {conditions} ORDER BY rank LIMIT :keyword_depth)"
                    if query.mode.uses_keywords else f"keyword_ranked AS ({_NO_RANKS})")
    similarity = (f"1 - ({nearest.exact_distance('v.embedding', query.dimensions)})"
                  if query.vector is not None and query.set_id is not None else "NULL::float8")
    keyword_score = _RANK if query.text else "NULL::real"
    snippet = "ts_headline(chunk_search_config(), t.text, {0}, :headline)".format(_TSQUERY) \
        if query.text and query.mode.uses_keywords else "NULL::text"
    top = (
        f"SELECT c.document_id, d.source, c.page_start, c.page_end, c.heading_path, {similarity} AS similarity, "
        f"c.text, c.id, d.external_id, d.media_type, f.vector_rank, {keyword_score} AS keyword_score, "
        "f.keyword_rank, f.fused FROM fused f JOIN chunks c ON c.id = f.chunk_id "
        "JOIN documents d ON d.id = c.document_id "
        f"LEFT JOIN chunk_embeddings v ON v.chunk_id = c.id AND v.set_id = {int(query.set_id or 0)} "
        "ORDER BY f.fused DESC, least(f.vector_rank, f.keyword_rank), c.id LIMIT :k"
    )
    sql = (
        f"WITH {vector_side}, {keyword_side}, "
        "fused AS (SELECT coalesce(v.chunk_id, w.chunk_id) AS chunk_id, v.rank AS vector_rank, w.rank AS keyword_rank, "
        "coalesce(CAST(:vector_weight AS float8) / (:rrf_k + v.rank), 0) "
        "+ coalesce(CAST(:keyword_weight AS float8) / (:rrf_k + w.rank), 0) AS fused "
        "FROM vector_ranked v FULL JOIN keyword_ranked w ON w.chunk_id = v.chunk_id) "
        # ts_headline re-parses the chunk: only for the k rows returned.
        f"SELECT t.*, {snippet} AS snippet FROM ({top}) t ORDER BY t.fused DESC, "
        "least(t.vector_rank, t.keyword_rank), t.id"
    )
    params.update(k=query.k, depth=vector_depth, keyword_depth=max(query.k, fusion.keyword_depth), rrf_k=fusion.rrf_k,
                  vector_weight=fusion.vector_weight, keyword_weight=fusion.keyword_weight, text=query.text,
                  headline=HEADLINE_OPTIONS, query=vector_literal(query.vector) if query.vector is not None else None)
    return list(conn.execute(text(sql), params))
