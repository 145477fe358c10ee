"""Nearest-chunk search over one embedding set: the query checked against the set, the store's rows as hits."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Connection

from ingest_pipeline.search.hits import Hit
from ingest_pipeline.store.nearest import nearest_rows


def nearest_chunks(conn: Connection, set_id: int, dimensions: int, query: Sequence[float], k: int) -> list[Hit]:
    """The k chunks closest to `query`; score is cosine similarity (1 is identical)."""
    if len(query) != dimensions:
        raise ValueError(f"query vector has {len(query)} dimensions, the embedding set has {dimensions}")
    return [Hit(doc, source, start, end, tuple(path or ()), float(score), chunk_text)
            for doc, source, start, end, path, score, chunk_text in nearest_rows(conn, set_id, dimensions, query, k)]
