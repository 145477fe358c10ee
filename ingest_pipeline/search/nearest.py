"""Finding chunks: a query checked against its embedding set, ranked by vector, keyword or both (store/ranking.py),
the store's rows as hits with their citations."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Connection, Row

from ingest_pipeline.domain.search_modes import SearchMode
from ingest_pipeline.search.hits import Hit, leading_excerpt
from ingest_pipeline.store.ranking import FUSION, Fusion, Query, ranked_rows
from ingest_pipeline.store.search_filters import Filters

__all__ = ["Filters", "Fusion", "SearchMode", "find_chunks", "nearest_chunks"]


def nearest_chunks(conn: Connection, set_id: int, dimensions: int, query: Sequence[float], k: int,
                   filters: Filters | None = None) -> list[Hit]:
    """The k chunks closest to `query` (of those `filters` allows); score is cosine similarity (1 is identical).
    Chunks published a moment ago are found too, before the index upkeep has taken their vectors in."""
    return find_chunks(conn, SearchMode.VECTOR, k, vector=query, set_id=set_id, dimensions=dimensions,
                       filters=filters)


def find_chunks(conn: Connection, mode: SearchMode, k: int, *, text: str | None = None,
                vector: Sequence[float] | None = None, set_id: int | None = None, dimensions: int | None = None,
                filters: Filters | None = None, fusion: Fusion = FUSION) -> list[Hit]:
    """The k best chunks for the query in `mode` (those `filters` allow): k whenever k match."""
    if vector is not None and dimensions is not None and len(vector) != dimensions:
        raise ValueError(f"query vector has {len(vector)} dimensions, the embedding set has {dimensions}")
    rows = ranked_rows(conn, Query(k, SearchMode(mode), text, vector, set_id, dimensions, filters or Filters(), fusion))
    return [_hit(row, SearchMode(mode)) for row in rows]


def _hit(row: Row, mode: SearchMode) -> Hit:
    (document_id, source, start, end, path, similarity, chunk_text, chunk_id, external_id, media_type,
     vector_rank, keyword_score, keyword_rank, fused, snippet) = row
    similarity = None if similarity is None else float(similarity)
    keyword_score = None if keyword_score is None else float(keyword_score)
    # ts_headline keeps the chunk's line breaks; a snippet reads as one line.
    snippet = " ".join(snippet.split()) if snippet else leading_excerpt(chunk_text)
    score = {SearchMode.VECTOR: similarity, SearchMode.KEYWORD: keyword_score, SearchMode.HYBRID: float(fused)}[mode]
    return Hit(document_id, source, start, end, tuple(path or ()), score, chunk_text, chunk_id, external_id,
               media_type, snippet, similarity, vector_rank, keyword_score, keyword_rank,
               float(fused) if mode is SearchMode.HYBRID else None)
