"""The vector side of a search: the chunks nearest to a query vector in one embedding set, from the set's HNSW
index over its indexed vectors and an exact scan over those not indexed yet, merged and re-scored at full
precision; optionally filtered, with pgvector's iterative index scans (store/ranking.py falls back to an exact
scan behind them, so a filter still gets k hits when k exist)."""

from __future__ import annotations

from sqlalchemy import Connection, text

from ingest_pipeline.store.embeddings import indexed_expression
from ingest_pipeline.store.search_filters import Filters

__all__ = ["Filters", "few_match", "prepare_scan", "vector_ranked"]

# pgvector's upper bound for hnsw.ef_search.
MAX_EF_SEARCH = 1000
# The smallest candidate list an HNSW search keeps. Hashing-embedder vectors are hard for a graph index
# (text shares few words, so near neighbours are barely nearer than the rest): on the scale curve's store
# of 100k chunks, under the index settings of store/embeddings.py, recall@10 was 0.893 at 400, 0.946 at
# 600 and 0.959 at 800 (p50 19 ms, p99 35 ms), against 0.70-0.75 at pgvector's default of 40.
MIN_EF_SEARCH = 800
# How a filtered index scan goes on past its first ef_search rows: in batches, slightly out of order (the
# final hits are sorted again by exact distance), which finds more matching rows than strict_order.
ITERATIVE_SCAN = "relaxed_order"
# Tuples a filtered (iterative) index scan visits before it gives up; an exact scan over the rows the
# filter matches answers then.
MAX_SCAN_TUPLES = 20_000
# A filter matching at most this many vectors is answered by an exact scan over them from the start: an
# index scan would visit about depth / (share matching) tuples to find as many (all 20,000 for a filter
# matching fewer than depth), and then be asked again exactly anyway.
EXACT_SCAN_ROWS = 2_000


def prepare_scan(conn: Connection, depth: int, filters: Filters) -> None:
    """Index-scan settings for this transaction: a candidate list of at least `depth`, and with a filter,
    scanning on until `depth` rows pass it rather than stopping after the first ef_search."""
    conn.execute(text(f"SET LOCAL hnsw.ef_search = {min(max(MIN_EF_SEARCH, int(depth)), MAX_EF_SEARCH)}"))
    if filters:
        conn.execute(text(f"SET LOCAL hnsw.iterative_scan = {ITERATIVE_SCAN}"))
        conn.execute(text(f"SET LOCAL hnsw.max_scan_tuples = {MAX_SCAN_TUPLES}"))


def few_match(conn: Connection, set_id: int, filters: Filters) -> bool:
    """Whether at most EXACT_SCAN_ROWS vectors of the set pass `filters` (counted up to one more, no further)."""
    conditions, params = filters.where()
    counted = conn.execute(text(
        f"SELECT count(*) FROM (SELECT 1 FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id "
        f"JOIN documents d ON d.id = c.document_id WHERE e.set_id = {int(set_id)} {conditions} LIMIT :cap) m"),
        {**params, "cap": EXACT_SCAN_ROWS + 1}).scalar_one()
    return counted <= EXACT_SCAN_ROWS


def exact_distance(column: str, dimensions: int) -> str:
    """Cosine distance of `column` to the :query parameter at full precision."""
    return f"{column}::vector({int(dimensions)}) <=> CAST(:query AS vector({int(dimensions)}))"


def vector_ranked(set_id: int, dimensions: int, filters: Filters, use_index: bool) -> str:
    """CTEs ending in `vector_ranked (chunk_id, rank)`: the :depth nearest chunks (those `filters` allow),
    ranked 1.. by exact distance. The indexed rows come from the HNSW index when `use_index` (else an exact
    scan); the rows not indexed yet always from an exact scan, so a chunk is found the moment it is published."""
    exact = exact_distance("e.embedding", dimensions)
    # Literal ints (never user text) so the planner can match the set's partial HNSW index.
    approximate = (f"{indexed_expression('e.embedding', dimensions)} <=> "
                   f"{indexed_expression('CAST(:query AS vector)', dimensions)}") if use_index else exact
    joins = "JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON d.id = c.document_id" if filters else ""
    conditions, _ = filters.where()
    branch = f"SELECT e.chunk_id, e.embedding FROM chunk_embeddings e {joins} WHERE e.set_id = {int(set_id)} "
    return (
        f"vector_candidates AS MATERIALIZED ("
        f"({branch} AND e.indexed {conditions} ORDER BY {approximate} LIMIT :depth) UNION ALL "
        f"({branch} AND NOT e.indexed {conditions} ORDER BY {exact} LIMIT :depth)), "
        f"vector_ranked AS MATERIALIZED (SELECT e.chunk_id, row_number() OVER (ORDER BY {exact}, e.chunk_id) AS rank "
        f"FROM vector_candidates e ORDER BY rank LIMIT :depth)"
    )
