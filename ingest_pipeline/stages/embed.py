"""The embedding stage: embed missing texts across all documents of a run, then publish each document."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

from sqlalchemy import Engine

from ingest_pipeline.batching import token_batches
from ingest_pipeline.catalog import chunks, documents, embeddings
from ingest_pipeline.catalog.chunks import StoredChunk
from ingest_pipeline.catalog.documents import Document
from ingest_pipeline.errors import DocumentRejected, ProviderPaused
from ingest_pipeline.openai_requests import ProviderConfigurationError, Usage
from ingest_pipeline.resources.embedder import EmbedderResource
from ingest_pipeline.stages.runner import Superseded, UpToDate
from ingest_pipeline.statuses import DocumentStatus

# What the answers of the requests in flight may hold: the client decodes vectors into Python floats
# (~32 bytes each), so this is two full requests (2,048 inputs at 1,536 dimensions, ~200 MB), or as many
# smaller ones as fit. How many are actually out is up to the rate budget: requests wait there, not here.
VECTOR_FLOATS_IN_FLIGHT = 2 * 2048 * 1536
# Documents published per transaction by the bulk path: few round trips, bounded transactions.
PUBLISH_BATCH = 200
# Below this many new vectors, inserting them into the HNSW index costs less than rebuilding it.
REBUILD_MINIMUM = 500
log = logging.getLogger(__name__)


@dataclass
class EmbeddingPass:
    """What one pass over a run's pending chunks did; `error` is why some texts are still missing.

    `published` holds the facts of the documents the pass already published in bulk.
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


def embed_pending(engine: Engine, document_ids: Sequence[str], embedder: EmbedderResource) -> EmbeddingPass:
    """Embed every text these documents still need, once per distinct text, in token-aware batches
    across documents. Vectors are cached batch by batch, so a crash loses at most the requests in
    flight, and each document is published (in bulk) as soon as all its texts have vectors, while
    the next requests are still out; the rest are left to `publish_document`, which says why."""
    space = embedder.space
    with engine.begin() as conn:
        set_id = embeddings.ensure_set(conn, space.embedder, space.model, space.dimensions)
        pending = chunks.pending(conn, document_ids, set_id)
        have = embeddings.cached(conn, set_id, [c.text_hash for c in pending])
        versions = {doc.id: doc.sha256 for doc in documents.get_many(conn, sorted({c.document_id for c in pending}))}
    work = _distinct_missing(pending, have)
    result = EmbeddingPass(set_id, cache_hits=len({c.text_hash for c in pending} & have),
                           pending_documents=set(versions))
    with _bulk_load(engine, set_id, len(pending), space.dimensions):
        publisher = _Publisher(engine, result, versions, _hashes_by_document(pending), have)
        _embed_all(engine, result, work, embedder, space.dimensions, publisher.texts_stored)
        publisher.publish_the_rest()
    return result


def _embed_all(engine: Engine, result: EmbeddingPass, work: list[StoredChunk], embedder: EmbedderResource,
               dimensions: int, stored: Callable[[list[StoredChunk]], None]) -> None:
    """Send the batches, as many at once as the embedder allows and their answers' memory bound: the
    provider's latency overlaps the other requests and the storing (and publishing) of vectors, and
    the shared rate budget decides when each goes. The first failure stops further sends; what is
    already in flight still lands in the cache."""
    batches = [[work[i] for i in batch_range]
               for batch_range in token_batches([c.token_count for c in work], embedder.batch_limits)]
    window = _Window(embedder.max_requests_in_flight, dimensions)
    fatal: ProviderConfigurationError | None = None
    with ThreadPoolExecutor(max_workers=embedder.max_requests_in_flight) as pool:
        in_flight: dict[Future, list[StoredChunk]] = {}

        def send() -> None:
            while batches and window.has_room(len(batches[0])):
                batch = batches.pop(0)
                window.opened(len(batch))
                in_flight[pool.submit(embedder.embed_batch, [c.text for c in batch], [c.token_count for c in batch])] = batch

        send()
        while in_flight:
            for future in wait(in_flight, return_when=FIRST_COMPLETED).done:
                batch = in_flight.pop(future)
                window.closed(len(batch))
                try:
                    outcome = future.result()
                except ProviderConfigurationError as error:
                    fatal = error
                except ProviderPaused as paused:  # the provider's circuit is open: the documents wait
                    result.paused, result.error = paused, paused.reason
                except Exception as error:  # the documents still missing vectors report it, per document
                    result.error = f"{type(error).__name__}: {error}"
                else:
                    _record(engine, result, batch, outcome, dimensions)
                    if fatal is None and result.error is None:
                        send()  # before publishing, so the next requests are out while we publish
                    stored(batch)
    if fatal is not None:
        raise fatal


@dataclass
class _Window:
    """Requests in flight: at most `most` at once and VECTOR_FLOATS_IN_FLIGHT of answers, but always one."""

    most: int
    dimensions: int
    requests: int = 0
    floats: int = 0

    def has_room(self, inputs: int) -> bool:
        if self.requests == 0:
            return True
        return self.requests < self.most and self.floats + inputs * self.dimensions <= VECTOR_FLOATS_IN_FLIGHT

    def opened(self, inputs: int) -> None:
        self.requests, self.floats = self.requests + 1, self.floats + inputs * self.dimensions

    def closed(self, inputs: int) -> None:
        self.requests, self.floats = self.requests - 1, self.floats - inputs * self.dimensions


@contextmanager
def _bulk_load(engine: Engine, set_id: int, new_vectors: int, dimensions: int) -> Iterator[None]:
    """A large load into a small set drops the set's HNSW index first and builds it again at the
    end, which is many times faster than inserting every vector into it."""
    with engine.begin() as conn:
        rebuild = new_vectors >= REBUILD_MINIMUM and embeddings.has_fewer_vectors(conn, set_id, new_vectors)
        if rebuild:
            embeddings.drop_index(conn, set_id)
    try:
        yield
    finally:
        if rebuild:
            with engine.begin() as conn:
                embeddings.ensure_index(conn, set_id, dimensions)


class _Publisher:
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


def _hashes_by_document(pending: Sequence[StoredChunk]) -> dict[str, set[str]]:
    hashes: dict[str, set[str]] = {}
    for chunk in pending:
        hashes.setdefault(chunk.document_id, set()).add(chunk.text_hash)
    return hashes


def _facts(result: EmbeddingPass, hashes: set[str], count: int, tokens: int) -> dict:
    new = hashes & result.tokens_by_hash.keys()
    return {"chunks": count, "tokens": tokens, "embedded_texts": len(new),
            "embedded_tokens": sum(result.tokens_by_hash[h] for h in new)}


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
