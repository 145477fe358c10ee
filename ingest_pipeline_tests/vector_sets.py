"""Test helpers that fill an embedding set fast: documents by SQL, chunks staged and published in bulk, given vectors."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sqlalchemy import Connection, text

from ingest_pipeline.domain.ids import text_hash
from ingest_pipeline.domain.models import Chunk
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.store import chunks, documents, embeddings


def add_documents(conn: Connection, names: Sequence[str]) -> list[str]:
    """Documents ready to publish (chunked), one per name, with ids of the names."""
    for number, name in enumerate(names):
        documents.insert(conn, id=name, external_id=None, source=f"/corpus/{name}.txt", file_name=f"{name}.txt",
                         sha256=f"{number:064x}", size_bytes=1, status=str(DocumentStatus.CHUNKED))
    return list(names)


def publish(conn: Connection, set_id: int, vectors: dict[str, np.ndarray]) -> dict[str, list[str]]:
    """Publish each document's chunks with these vectors (one chunk per row); returns their texts by document."""
    texts = {}
    for doc_id, rows in vectors.items():
        cut = [Chunk(i, f"{doc_id} chunk {i}", 3, 1, 1) for i in range(len(rows))]
        chunks.stage(conn, doc_id, cut)
        embeddings.store(conn, set_id, [(text_hash(c.text), row) for c, row in zip(cut, rows)])
        texts[doc_id] = [c.text for c in cut]
    current = {doc.id: doc.sha256 for doc in documents.get_many(conn, list(vectors))}
    assert set(chunks.publish_many(conn, set_id, current)) == set(vectors)
    return texts


def unit_rows(rng: np.random.Generator, count: int, dimensions: int) -> np.ndarray:
    rows = rng.standard_normal((count, dimensions)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def indexed_flags(conn: Connection, set_id: int) -> dict[bool, int]:
    return dict(conn.execute(text("SELECT indexed, count(*) FROM chunk_embeddings WHERE set_id = :s GROUP BY 1"),
                             {"s": set_id}).all())
