"""The chunks nearest to a query vector in one embedding set, by pgvector's cosine distance over its HNSW index."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Connection, Row, text

from ingest_pipeline.store.embeddings import vector_literal

# pgvector's upper bound for hnsw.ef_search.
MAX_EF_SEARCH = 1000


def nearest_rows(conn: Connection, set_id: int, dimensions: int, query: Sequence[float], k: int) -> list[Row]:
    """(document_id, source, page_start, page_end, heading_path, cosine similarity, text), nearest first."""
    # Literal ints (never user text) so the planner can match the set's partial HNSW index.
    distance = f"e.embedding::vector({int(dimensions)}) <=> CAST(:query AS vector({int(dimensions)}))"
    # HNSW returns at most ef_search rows (40 by default): widen it to k for this transaction.
    conn.execute(text(f"SET LOCAL hnsw.ef_search = {min(max(40, int(k)), MAX_EF_SEARCH)}"))
    return list(conn.execute(text(
        f"SELECT c.document_id, d.source, c.page_start, c.page_end, c.heading_path, 1 - ({distance}), c.text "
        "FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON d.id = c.document_id "
        f"WHERE e.set_id = {int(set_id)} ORDER BY {distance} LIMIT :k"
    ), {"query": vector_literal(query), "k": k}))
