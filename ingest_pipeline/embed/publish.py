"""Publishing embedded documents: each made searchable, chunks and vectors together, in one transaction, in
bulk as soon as all its texts have vectors, or one by one with the reason it cannot be."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

from sqlalchemy import Engine

from ingest_pipeline.domain.errors import DocumentRejected, ProviderPaused, Superseded, UpToDate
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.embed.embedder import Usage
from ingest_pipeline.store import chunks, documents, embedding_sets, embeddings
from ingest_pipeline.store.chunks import StoredChunk
from ingest_pipeline.store.documents import Document

# Documents published per transaction by the bulk path: few round trips, bounded transactions.
PUBLISH_BATCH = 200
log = logging.getLogger(__name__)


@dataclass
class EmbeddingPass:
    """What one pass over a run's pending chunks did; `error` is why some texts are still missing.

    `published` holds the facts of the documents the pass already published in bulk; `switched`, whether
    search now answers from the pass's set.
    """

    set_id: int
    usage: Usage = field(default_factory=Usage)
    texts_embedded: int = 0
    cache_hits: int = 0
    error: str | None = None
    paused: ProviderPaused | None = None
    tokens_by_hash: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    pending_documents: set[str] = field(default_factory=set)
    published: dict[str, dict] = field(default_factory=dict)
    switched: bool = False


class Publisher:
    """Publishes documents a batch per transaction, each as soon as every text it needs has a vector."""

    def __init__(self, engine: Engine, result: EmbeddingPass, versions: dict[str, str],
                 hashes: dict[str, set[str]], have: set[str]):
        self.engine, self.result, self.versions, self.hashes = engine, result, versions, hashes
        self.missing = {doc_id: needed - have for doc_id, needed in hashes.items()}
        self.waiting_on: dict[str, list[str]] = {}
        for doc_id, needed in self.missing.items():
            for digest in needed:
                self.waiting_on.setdefault(digest, []).append(doc_id)
        self.unpublished = set(versions)
        self._publish(sorted(doc_id for doc_id in self.unpublished if not self.missing.get(doc_id)))

    def texts_stored(self, batch: list[StoredChunk]) -> None:
        completed = set()
        for chunk in batch:
            if chunk.text_hash in self.result.tokens_by_hash:  # a vector came back (not refused)
                for doc_id in self.waiting_on.pop(chunk.text_hash, []):
                    self.missing[doc_id].discard(chunk.text_hash)
                    if not self.missing[doc_id]:
                        completed.add(doc_id)
        self._publish(sorted(completed & self.unpublished))

    def publish_the_rest(self) -> None:
        """Every document not yet published: publish_many leaves out those still lacking a vector."""
        self._publish(sorted(self.unpublished))

    def _publish(self, ids: list[str]) -> None:
        for start in range(0, len(ids), PUBLISH_BATCH):
            batch = ids[start:start + PUBLISH_BATCH]
            self.unpublished.difference_update(batch)
            _publish_batch(self.engine, self.result, {i: self.versions[i] for i in batch}, self.hashes)


def _publish_batch(engine: Engine, result: EmbeddingPass, versions: dict[str, str], hashes: dict[str, set[str]]) -> None:
    try:
        with engine.begin() as conn:
            published = chunks.publish_many(conn, result.set_id, versions)
            for doc_id, (count, tokens) in published.items():
                documents.update(conn, doc_id, status=str(DocumentStatus.EMBEDDED), chunk_count=count,
                                 token_count=tokens, failed_stage=None, reason=None, attempts=0)
    except Exception:  # each document then goes through publish_document, which records why
        log.warning("publishing %s documents at once failed; publishing them one by one", len(versions), exc_info=True)
        return
    for doc_id, (count, tokens) in published.items():
        result.published[doc_id] = _facts(result, hashes.get(doc_id, set()), count, tokens)


def hashes_by_document(pending: Sequence[StoredChunk]) -> dict[str, set[str]]:
    hashes: dict[str, set[str]] = {}
    for chunk in pending:
        hashes.setdefault(chunk.document_id, set()).add(chunk.text_hash)
    return hashes


def _facts(result: EmbeddingPass, hashes: set[str], count: int, tokens: int) -> dict:
    new = hashes & result.tokens_by_hash.keys()
    return {"chunks": count, "tokens": tokens, "embedded_texts": len(new),
            "embedded_tokens": sum(result.tokens_by_hash[h] for h in new)}


def publish_document(engine: Engine, doc: Document, embedding_pass: EmbeddingPass) -> dict:
    """Make the document's staged chunks and their vectors searchable together, in one transaction."""
    if doc.id in embedding_pass.published:
        return embedding_pass.published[doc.id]
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
        if missing and embedding_pass.paused:
            raise ProviderPaused(embedding_pass.paused.provider, embedding_pass.paused.reason)
        if missing:
            raise RuntimeError(f"{len(missing)} chunk texts have no embedding yet: {embedding_pass.error}")
        _still_current(documents.get(conn, doc.id, lock=True), doc)
        count, tokens = chunks.publish(conn, doc.id)
        documents.update(conn, doc.id, status=str(DocumentStatus.EMBEDDED), chunk_count=count,
                         token_count=tokens, failed_stage=None, reason=None, attempts=0)
    return _facts(embedding_pass, hashes, count, tokens)


def _still_current(current: Document | None, seen: Document) -> None:
    """Publishing chunks of a version that was replaced or deleted meanwhile would hide the new one."""
    if current is None:
        raise Superseded("deleted while it was being embedded")
    if current.sha256 != seen.sha256 or current.status not in (DocumentStatus.CHUNKED, DocumentStatus.EMBEDDED):
        raise Superseded(f"changed while it was being embedded (now version {current.version}, "
                         f"{current.status}); the new version is queued")


def switch_when_complete(engine: Engine, embedding_pass: EmbeddingPass) -> bool:
    """After a pass has published its documents: when its set (the configured one) is not the active one
    and now covers every embedded document, search answers from it, from the next query on."""
    with engine.begin() as conn:
        embedding_pass.switched = embedding_sets.switch_when_complete(conn, embedding_pass.set_id)
    return embedding_pass.switched
