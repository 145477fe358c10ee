"""The embedding stage: embed missing texts across all documents of a run, then publish each document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from sqlalchemy import Engine

from ingest_pipeline.catalog import chunks, documents, embeddings
from ingest_pipeline.catalog.chunks import StoredChunk
from ingest_pipeline.catalog.documents import Document
from ingest_pipeline.resources.embedder import EmbedderResource
from ingest_pipeline.stages.runner import UpToDate
from ingest_pipeline.statuses import DocumentStatus


@dataclass
class EmbeddingPass:
    """What one pass over a run's pending chunks did; `error` is why some texts are still missing."""

    set_id: int
    requested_texts: int = 0
    cache_hits: int = 0
    batches: int = 0
    error: str | None = None
    embedded_hashes: set[str] = field(default_factory=set)


def embed_pending(engine: Engine, document_ids: Sequence[str], embedder: EmbedderResource) -> EmbeddingPass:
    """Embed every text these documents still need, once per distinct text, in batches across documents."""
    space = embedder.space
    with engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, space.embedder, space.model, space.dimensions)
        pending = chunks.pending(conn, document_ids, set_id)
        have = embeddings.cached(conn, set_id, [c.text_hash for c in pending])
    work = _distinct_missing(pending, have)
    result = EmbeddingPass(set_id, cache_hits=len({c.text_hash for c in pending} & have))
    size = embedder.max_batch_inputs
    for start in range(0, len(work), size):
        batch = work[start:start + size]
        try:
            vectors = embedder.embed([c.text for c in batch])
        except Exception as error:  # the documents still missing vectors report it, per document
            result.error = f"{type(error).__name__}: {error}"
            break
        _check_dimensions(vectors, space.dimensions)
        with engine.begin() as conn:
            embeddings.store(conn, set_id, [(c.text_hash, v) for c, v in zip(batch, vectors)])
        result.batches += 1
        result.requested_texts += len(batch)
        result.embedded_hashes.update(c.text_hash for c in batch)
    return result


def publish_document(engine: Engine, doc: Document, embedding_pass: EmbeddingPass) -> dict:
    """Make the document's staged chunks and their vectors searchable together, in one transaction."""
    with engine.begin() as conn:
        current = documents.get(conn, doc.id, lock=True)
        needed = chunks.pending(conn, [doc.id], embedding_pass.set_id)
        if current.status is DocumentStatus.EMBEDDED and not needed:
            raise UpToDate()
        missing = {c.text_hash for c in needed} - embeddings.cached(conn, embedding_pass.set_id,
                                                                    [c.text_hash for c in needed])
        if missing:
            raise RuntimeError(f"{len(missing)} chunk texts have no embedding yet: {embedding_pass.error}")
        count, tokens = chunks.publish(conn, doc.id)
        documents.update(conn, doc.id, status=str(DocumentStatus.EMBEDDED), chunk_count=count,
                         token_count=tokens, failed_stage=None, reason=None, attempts=0)
    return {"chunks": count, "tokens": tokens, "embedded_texts": len({c.text_hash for c in needed})}


def _distinct_missing(pending: Sequence[StoredChunk], have: set[str]) -> list[StoredChunk]:
    seen: set[str] = set()
    work = []
    for chunk in pending:
        if chunk.text_hash not in have and chunk.text_hash not in seen:
            seen.add(chunk.text_hash)
            work.append(chunk)
    return work


def _check_dimensions(vectors: Sequence[Sequence[float]], dimensions: int) -> None:
    for vector in vectors:
        if len(vector) != dimensions:
            raise ValueError(f"the embedder returned {len(vector)}-dimensional vectors but its embedding set "
                             f"is {dimensions}-dimensional: check INGEST_EMBEDDING_DIMENSIONS")
