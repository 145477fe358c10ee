"""Nearest-chunk search over one embedding set with pgvector's cosine distance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import Connection, text

from ingest_pipeline.catalog.embeddings import vector_literal


# pgvector's upper bound for hnsw.ef_search.
MAX_EF_SEARCH = 1000


@dataclass(frozen=True)
class Hit:
    document_id: str
    source: str
    page_start: int
    page_end: int
    heading_path: tuple[str, ...]
    score: float
    text: str


def nearest_chunks(conn: Connection, set_id: int, dimensions: int, query: Sequence[float], k: int) -> list[Hit]:
    """The k chunks closest to `query`; score is cosine similarity (1 is identical)."""
    if len(query) != dimensions:
        raise ValueError(f"query vector has {len(query)} dimensions, the embedding set has {dimensions}")
    # Literal ints (never user text) so the planner can match the set's partial HNSW index.
    distance = f"e.embedding::vector({int(dimensions)}) <=> CAST(:query AS vector({int(dimensions)}))"
    # HNSW returns at most ef_search rows (40 by default): widen it to k for this transaction.
    conn.execute(text(f"SET LOCAL hnsw.ef_search = {min(max(40, int(k)), MAX_EF_SEARCH)}"))
    rows = conn.execute(text(
        f"SELECT c.document_id, d.source, c.page_start, c.page_end, c.heading_path, 1 - ({distance}), c.text "
        "FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON d.id = c.document_id "
        f"WHERE e.set_id = {int(set_id)} ORDER BY {distance} LIMIT :k"
    ), {"query": vector_literal(query), "k": k})
    return [Hit(doc, source, start, end, tuple(path or ()), float(score), chunk_text)
            for doc, source, start, end, path, score, chunk_text in rows]
