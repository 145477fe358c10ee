"""The embedding stage: embed missing texts across all documents of a run, then publish each document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from sqlalchemy import Engine

from ingest_pipeline.batching import token_batches
from ingest_pipeline.catalog import chunks, documents, embeddings
from ingest_pipeline.catalog.chunks import StoredChunk
from ingest_pipeline.catalog.documents import Document
from ingest_pipeline.errors import DocumentRejected
from ingest_pipeline.openai_requests import ProviderConfigurationError, Usage
from ingest_pipeline.resources.embedder import EmbedderResource
from ingest_pipeline.stages.runner import Superseded, UpToDate
from ingest_pipeline.statuses import DocumentStatus


@dataclass
class EmbeddingPass:
    """What one pass over a run's pending chunks did; `error` is why some texts are still missing."""

    set_id: int
    usage: Usage = field(default_factory=Usage)
    texts_embedded: int = 0
    cache_hits: int = 0
    error: str | None = None
    tokens_by_hash: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    pending_documents: set[str] = field(default_factory=set)


def embed_pending(engine: Engine, document_ids: Sequence[str], embedder: EmbedderResource) -> EmbeddingPass:
    """Embed every text these documents still need, once per distinct text, in token-aware batches
    across documents. Vectors are cached batch by batch, so a crash loses at most one request."""
    space = embedder.space
    with engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, space.embedder, space.model, space.dimensions)
        pending = chunks.pending(conn, document_ids, set_id)
        have = embeddings.cached(conn, set_id, [c.text_hash for c in pending])
    work = _distinct_missing(pending, have)
    result = EmbeddingPass(set_id, cache_hits=len({c.text_hash for c in pending} & have),
                           pending_documents={c.document_id for c in pending})
    for batch_range in token_batches([c.token_count for c in work], embedder.batch_limits):
        batch = [work[i] for i in batch_range]
        try:
            outcome = embedder.embed_batch([c.text for c in batch], [c.token_count for c in batch])
        except ProviderConfigurationError:
            raise
        except Exception as error:  # the documents still missing vectors report it, per document
            result.error = f"{type(error).__name__}: {error}"
            break
        _record(engine, result, batch, outcome, space.dimensions)
    return result


def _record(engine: Engine, result: EmbeddingPass, batch: list[StoredChunk], outcome, dimensions: int) -> None:
    vectors = [(batch[i].text_hash, vector) for i, vector in sorted(outcome.vectors.items())]
    _check_dimensions([v for _, v in vectors], dimensions)
    with engine.begin() as conn:
        embeddings.store(conn, result.set_id, vectors)
    result.usage.add(outcome.usage)
    result.texts_embedded += len(vectors)
    result.tokens_by_hash.update({batch[i].text_hash: batch[i].token_count for i in outcome.vectors})
    result.rejected.update({batch[i].text_hash: reason for i, reason in outcome.rejected.items()})


def publish_document(engine: Engine, doc: Document, embedding_pass: EmbeddingPass) -> dict:
    """Make the document's staged chunks and their vectors searchable together, in one transaction."""
    if doc.status is DocumentStatus.EMBEDDED and doc.id not in embedding_pass.pending_documents:
        raise UpToDate()
    with engine.begin() as conn:
        needed = chunks.pending(conn, [doc.id], embedding_pass.set_id)
        if not needed and doc.status is DocumentStatus.EMBEDDED:
            raise UpToDate()
        hashes = {c.text_hash for c in needed}
        refused = hashes & embedding_pass.rejected.keys()
        if refused:
            raise DocumentRejected(f"the embedding API refused {len(refused)} chunk(s) of this document: "
                                   f"{embedding_pass.rejected[next(iter(refused))]}")
        missing = hashes - embeddings.cached(conn, embedding_pass.set_id, hashes)
        if missing:
            raise RuntimeError(f"{len(missing)} chunk texts have no embedding yet: {embedding_pass.error}")
        _still_current(documents.get(conn, doc.id, lock=True), doc)
        count, tokens = chunks.publish(conn, doc.id)
        documents.update(conn, doc.id, status=str(DocumentStatus.EMBEDDED), chunk_count=count,
                         token_count=tokens, failed_stage=None, reason=None, attempts=0)
    new = hashes & embedding_pass.tokens_by_hash.keys()
    return {"chunks": count, "tokens": tokens, "embedded_texts": len(new),
            "embedded_tokens": sum(embedding_pass.tokens_by_hash[h] for h in new)}


def _still_current(current: Document | None, seen: Document) -> None:
    """Publishing chunks of a version that was replaced or deleted meanwhile would hide the new one."""
    if current is None:
        raise Superseded("deleted while it was being embedded")
    if current.sha256 != seen.sha256 or current.status not in (DocumentStatus.CHUNKED, DocumentStatus.EMBEDDED):
        raise Superseded(f"changed while it was being embedded (now version {current.version}, "
                         f"{current.status}); the new version is queued")


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
            raise ProviderConfigurationError(f"the embedder returned {len(vector)}-dimensional vectors but its embedding set "
                             f"is {dimensions}-dimensional: check INGEST_EMBEDDING_DIMENSIONS")
