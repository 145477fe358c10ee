"""Embedding sets (one per embedder, model and dimensions) and the content-addressed vector cache."""

from __future__ import annotations

import logging
from typing import Iterable, Sequence

from sqlalchemy import Connection, text

from ingest_pipeline.database.bulk import insert_rows

# pgvector 0.6 indexes (HNSW and IVFFlat) stop at 2,000 dimensions; wider sets are scanned exactly.
MAX_INDEXED_DIMENSIONS = 2000
log = logging.getLogger(__name__)


def ensure_set(conn: Connection, embedder: str, model: str, dimensions: int) -> int:
    """The id of this embedding set, creating it and its HNSW index on first use."""
    params = {"embedder": embedder, "model": model, "dimensions": dimensions}
    set_id = conn.execute(text(
        "INSERT INTO embedding_sets (embedder, model, dimensions) VALUES (:embedder, :model, :dimensions) "
        "ON CONFLICT (embedder, model, dimensions) DO NOTHING RETURNING id"
    ), params).scalar()
    if set_id is None:
        return conn.execute(text(
            "SELECT id FROM embedding_sets WHERE embedder = :embedder AND model = :model AND dimensions = :dimensions"
        ), params).scalar_one()
    _create_index(conn, set_id, dimensions)
    return set_id


def _create_index(conn: Connection, set_id: int, dimensions: int) -> None:
    if dimensions > MAX_INDEXED_DIMENSIONS:
        log.warning("embedding set %s has %s dimensions: pgvector 0.6 cannot index more than %s, "
                    "so search scans it exactly", set_id, dimensions, MAX_INDEXED_DIMENSIONS)
        return
    # A partial expression index: one column holds every set, each set gets its own typed index.
    conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS chunk_embeddings_hnsw_{set_id} ON chunk_embeddings "
        f"USING hnsw ((embedding::vector({dimensions})) vector_cosine_ops) WHERE set_id = {set_id}"
    )


def cached(conn: Connection, set_id: int, hashes: Iterable[str]) -> set[str]:
    """Which of these text hashes already have a vector in the set."""
    return set(conn.execute(
        text("SELECT text_hash FROM embedding_cache WHERE set_id = :set AND text_hash = ANY(:hashes)"),
        {"set": set_id, "hashes": list(set(hashes))},
    ).scalars())


def store(conn: Connection, set_id: int, vectors: Sequence[tuple[str, Sequence[float]]]) -> None:
    """Add (text hash, vector) pairs to the cache; a hash stored concurrently is kept as it is."""
    insert_rows(
        conn,
        "INSERT INTO embedding_cache (set_id, text_hash, embedding) VALUES %s ON CONFLICT DO NOTHING",
        [(set_id, digest, vector_literal(vector)) for digest, vector in vectors],
        template="(%s, %s, %s::vector)",
    )


def vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def find_set(conn: Connection, embedder: str, model: str, dimensions: int) -> int | None:
    return conn.execute(text(
        "SELECT id FROM embedding_sets WHERE embedder = :embedder AND model = :model AND dimensions = :dimensions"
    ), {"embedder": embedder, "model": model, "dimensions": dimensions}).scalar()


def counts_by_document(conn: Connection, set_id: int | None) -> dict[str, int]:
    """Searchable vectors per document in one set."""
    if set_id is None:
        return {}
    rows = conn.execute(text(
        "SELECT c.document_id, count(*) FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id "
        "WHERE e.set_id = :set GROUP BY c.document_id"
    ), {"set": set_id})
    return {doc: int(n) for doc, n in rows}
