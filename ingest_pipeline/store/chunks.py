"""Chunks: staged while their embeddings are made, then published to search in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Iterable, Sequence

from sqlalchemy import Connection, text

from ingest_pipeline.domain.ids import chunk_id, text_hash
from ingest_pipeline.domain.models import Chunk
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.store.bulk import PAGE_SIZE, insert_rows

_FIELDS = "id, document_id, ordinal, text, text_hash, token_count, page_start, page_end, heading_path"


@dataclass(frozen=True)
class StoredChunk:
    id: str
    document_id: str
    text: str
    text_hash: str
    token_count: int


def stage(conn: Connection, document_id: str, chunks: Iterable[Chunk]) -> tuple[int, int]:
    """Replace the document's staged chunks; the searchable ones are untouched until publish.

    Chunks are written as they come, a page of rows at a time, so a long document's chunks never
    sit in memory together. Returns (chunks, tokens) staged.
    """
    conn.execute(text("DELETE FROM staged_chunks WHERE document_id = :id"), {"id": document_id})
    count = tokens = 0
    iterator = iter(chunks)
    while batch := list(islice(iterator, PAGE_SIZE)):
        insert_rows(conn, f"INSERT INTO staged_chunks ({_FIELDS}) VALUES %s", [_row(document_id, c) for c in batch])
        count += len(batch)
        tokens += sum(chunk.token_count for chunk in batch)
    return count, tokens


def _row(document_id: str, chunk: Chunk) -> tuple:
    digest = text_hash(chunk.text)
    return (chunk_id(document_id, chunk.ordinal, digest), document_id, chunk.ordinal, chunk.text,
            digest, chunk.token_count, chunk.page_start, chunk.page_end, list(chunk.heading_path))


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


def publish_many(conn: Connection, set_id: int, current: dict[str, str]) -> dict[str, tuple[int, int]]:
    """`publish` for many documents at once, in the caller's transaction, with a statement per step
    rather than per document. Publishes only the documents (id -> sha256 seen by the caller) still
    at that version, chunked or embedded, whose every chunk text has a vector in `set_id`; returns
    their (chunks, tokens) now live. The others are left exactly as they were.
    """
    ready = _lock_current(conn, current)
    ids = sorted(ready - _lacking_vectors(conn, set_id, ready)) if ready else []
    if not ids:
        return {}
    params = {"ids": ids}
    conn.execute(text("DELETE FROM chunks WHERE document_id IN "
                      "(SELECT DISTINCT document_id FROM staged_chunks WHERE document_id = ANY(:ids))"), params)
    conn.execute(text(f"INSERT INTO chunks ({_FIELDS}) SELECT {_FIELDS} FROM staged_chunks "
                      "WHERE document_id = ANY(:ids)"), params)
    conn.execute(text("DELETE FROM staged_chunks WHERE document_id = ANY(:ids)"), params)
    conn.execute(text(
        "INSERT INTO chunk_embeddings (chunk_id, set_id, embedding) "
        "SELECT c.id, e.set_id, e.embedding FROM chunks c "
        "JOIN embedding_cache e ON e.text_hash = c.text_hash WHERE c.document_id = ANY(:ids) "
        "ON CONFLICT (chunk_id, set_id) DO NOTHING"
    ), params)
    rows = conn.execute(text("SELECT document_id, count(*), coalesce(sum(token_count), 0) FROM chunks "
                             "WHERE document_id = ANY(:ids) GROUP BY document_id"), params)
    counts = {doc: (int(n), int(tokens)) for doc, n, tokens in rows}
    return {doc: counts.get(doc, (0, 0)) for doc in ids}


def _lock_current(conn: Connection, current: dict[str, str]) -> set[str]:
    """Lock the documents still at the version seen and ready to publish; a new version or a
    delete since then leaves a document to the per-document path, which explains it."""
    rows = conn.execute(text(
        "SELECT id, sha256 FROM documents WHERE id = ANY(:ids) AND status = ANY(:ready) ORDER BY id FOR UPDATE"
    ), {"ids": list(current), "ready": [str(DocumentStatus.CHUNKED), str(DocumentStatus.EMBEDDED)]})
    return {doc for doc, sha256 in rows if current[doc] == sha256}


def _lacking_vectors(conn: Connection, set_id: int, document_ids: set[str]) -> set[str]:
    """Documents with a staged chunk, or a live chunk without a vector, whose text has no vector in the set."""
    return set(conn.execute(text(
        "SELECT DISTINCT n.document_id FROM ("
        " SELECT document_id, text_hash FROM staged_chunks WHERE document_id = ANY(:ids)"
        " UNION ALL"
        " SELECT c.document_id, c.text_hash FROM chunks c"
        " LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id AND e.set_id = :set"
        " WHERE c.document_id = ANY(:ids) AND e.chunk_id IS NULL"
        ") AS n LEFT JOIN embedding_cache v ON v.set_id = :set AND v.text_hash = n.text_hash "
        "WHERE v.text_hash IS NULL"
    ), {"ids": sorted(document_ids), "set": set_id}).scalars())


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

