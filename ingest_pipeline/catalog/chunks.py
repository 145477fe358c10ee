"""Chunks: staged while their embeddings are made, then published to search in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import Connection, text

from ingest_pipeline.database.bulk import insert_rows
from ingest_pipeline.ids import chunk_id, text_hash
from ingest_pipeline.models import Chunk
from ingest_pipeline.statuses import DocumentStatus

_FIELDS = "id, document_id, ordinal, text, text_hash, token_count, page_start, page_end, heading_path"


@dataclass(frozen=True)
class StoredChunk:
    id: str
    document_id: str
    text: str
    text_hash: str
    token_count: int


def stage(conn: Connection, document_id: str, chunks: Sequence[Chunk]) -> None:
    """Replace the document's staged chunks; the searchable ones are untouched until publish."""
    conn.execute(text("DELETE FROM staged_chunks WHERE document_id = :id"), {"id": document_id})
    rows = []
    for chunk in chunks:
        digest = text_hash(chunk.text)
        rows.append((chunk_id(document_id, chunk.ordinal, digest), document_id, chunk.ordinal, chunk.text,
                     digest, chunk.token_count, chunk.page_start, chunk.page_end, list(chunk.heading_path)))
    if rows:
        insert_rows(conn, f"INSERT INTO staged_chunks ({_FIELDS}) VALUES %s", rows)


def pending(conn: Connection, document_ids: Sequence[str], set_id: int) -> list[StoredChunk]:
    """Chunks that need a vector in `set_id`: all staged ones, and live ones the set lacks."""
    rows = conn.execute(text(
        "SELECT s.id, s.document_id, s.text, s.text_hash, s.token_count FROM staged_chunks s "
        "JOIN documents d ON d.id = s.document_id AND d.status = ANY(:ready) WHERE s.document_id = ANY(:ids) "
        "UNION ALL "
        "SELECT c.id, c.document_id, c.text, c.text_hash, c.token_count FROM chunks c "
        "LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id AND e.set_id = :set "
        "WHERE c.document_id = ANY(:ids) AND e.chunk_id IS NULL "
        "ORDER BY 2, 1"
    ), {"ids": list(document_ids), "set": set_id, "ready": [str(DocumentStatus.CHUNKED), str(DocumentStatus.EMBEDDED)]})
    return [StoredChunk(*row) for row in rows]


def has_staged(conn: Connection, document_id: str) -> bool:
    return conn.execute(text("SELECT 1 FROM staged_chunks WHERE document_id = :id LIMIT 1"),
                        {"id": document_id}).first() is not None


def publish(conn: Connection, document_id: str) -> tuple[int, int]:
    """Swap staged chunks in for the live ones and attach every cached vector they have.

    Runs inside the caller's transaction, so search sees the old chunks or the new ones, never a
    mix. Vectors of every embedding set come from the cache, so side-by-side model sets survive
    a re-chunk for every text they have already embedded. Returns (chunks, tokens) now live.
    """
    if has_staged(conn, document_id):
        params = {"id": document_id}
        conn.execute(text("DELETE FROM chunks WHERE document_id = :id"), params)
        conn.execute(text(f"INSERT INTO chunks ({_FIELDS}) SELECT {_FIELDS} FROM staged_chunks "
                          "WHERE document_id = :id"), params)
        conn.execute(text("DELETE FROM staged_chunks WHERE document_id = :id"), params)
    attach_cached_vectors(conn, document_id)
    return live_counts(conn, document_id)


def attach_cached_vectors(conn: Connection, document_id: str) -> None:
    conn.execute(text(
        "INSERT INTO chunk_embeddings (chunk_id, set_id, embedding) "
        "SELECT c.id, e.set_id, e.embedding FROM chunks c "
        "JOIN embedding_cache e ON e.text_hash = c.text_hash WHERE c.document_id = :id "
        "ON CONFLICT (chunk_id, set_id) DO NOTHING"
    ), {"id": document_id})


def live_counts(conn: Connection, document_id: str) -> tuple[int, int]:
    row = conn.execute(text("SELECT count(*), coalesce(sum(token_count), 0) FROM chunks WHERE document_id = :id"),
                       {"id": document_id}).one()
    return int(row[0]), int(row[1])


def remove_all(conn: Connection, document_id: str) -> None:
    """Take a document out of search entirely (a duplicate, or a deleted document)."""
    conn.execute(text("DELETE FROM staged_chunks WHERE document_id = :id"), {"id": document_id})
    conn.execute(text("DELETE FROM chunks WHERE document_id = :id"), {"id": document_id})

