"""Nearest-chunk search over one embedding set: the query checked against the set, optional filters, the
store's rows as hits."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Connection

from ingest_pipeline.search.hits import Hit
from ingest_pipeline.store.nearest import Filters, nearest_rows

__all__ = ["Filters", "nearest_chunks"]


def nearest_chunks(conn: Connection, set_id: int, dimensions: int, query: Sequence[float], k: int,
                   filters: Filters | None = None) -> list[Hit]:
    """The k chunks closest to `query` (of those `filters` allows); score is cosine similarity (1 is identical).
    Chunks published a moment ago are found too, before the index upkeep has taken their vectors in."""
    if len(query) != dimensions:
        raise ValueError(f"query vector has {len(query)} dimensions, the embedding set has {dimensions}")
    rows = nearest_rows(conn, set_id, dimensions, query, k, filters or Filters())
    return [Hit(doc, source, start, end, tuple(path or ()), float(score), chunk_text)
            for doc, source, start, end, path, score, chunk_text in rows]
