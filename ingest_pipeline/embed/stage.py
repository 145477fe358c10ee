"""The embedding stage: embed missing texts across all documents of a run, then publish each document."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable, Sequence

from sqlalchemy import Engine

from ingest_pipeline.domain.errors import ProviderPaused
from ingest_pipeline.embed.batching import token_batches
from ingest_pipeline.embed.embedder import Embedder, EmbeddingSpace
from ingest_pipeline.embed.openai_requests import ProviderConfigurationError
from ingest_pipeline.embed.publish import EmbeddingPass, Publisher, hashes_by_document
from ingest_pipeline.embed.window import Window
from ingest_pipeline.store import chunks, documents, embedding_sets, embeddings
from ingest_pipeline.store.chunks import StoredChunk

log = logging.getLogger(__name__)


def embed_pending(engine: Engine, document_ids: Sequence[str], embedder: Embedder) -> EmbeddingPass:
    """Embed every text these documents still need, once per distinct text, in token-aware batches
    across documents. Vectors are cached batch by batch, so a crash loses at most the requests in
    flight, and each document is published (in bulk) as soon as all its texts have vectors, while
    the next requests are still out; the rest are left to `publish_document`, which says why.

    Published vectors land outside the HNSW index (search scans them exactly); the index upkeep, a step
    of its own that no ingest waits for (store/index_upkeep.py), takes them in afterwards."""
    space = embedder.space
    with engine.begin() as conn:
        # The configured set: the active one, or a new one filling in the background while search stays on
        # the active set (publish.switch_when_complete); the first set a store fills is active at once.
        set_id = embeddings.ensure_set(conn, space.embedder, space.model, space.dimensions)
        embedding_sets.activate_if_none(conn, set_id)
        pending = chunks.pending(conn, document_ids, set_id)
        have = embeddings.cached(conn, set_id, [c.text_hash for c in pending])
        versions = {doc.id: doc.sha256 for doc in documents.get_many(conn, sorted({c.document_id for c in pending}))}
    _embed_for_active_set_too(engine, document_ids, embedder, set_id)
    work = _distinct_missing(pending, have)
    result = EmbeddingPass(set_id, cache_hits=len({c.text_hash for c in pending} & have),
                           pending_documents=set(versions))
    publisher = Publisher(engine, result, versions, hashes_by_document(pending), have)
    _embed_all(engine, result, work, embedder, space.dimensions, publisher.texts_stored)
    publisher.publish_the_rest()
    return result


def _embed_for_active_set_too(engine: Engine, document_ids: Sequence[str], embedder: Embedder,
                              set_id: int) -> None:
    """While the configured set fills beside the active one, new and changed documents get vectors in the
    active set too, cached before they are published (publishing attaches every set's cached vectors), so
    search, still on the active set, finds them at once. Best effort: without them a document is found
    once search switches."""
    with engine.connect() as conn:
        active = embedding_sets.active_set(conn)
        if active is None or active.id == set_id:
            return
        pending = chunks.pending(conn, document_ids, active.id)
        have = embeddings.cached(conn, active.id, [c.text_hash for c in pending])
    other = embedder.for_space(EmbeddingSpace(active.embedder, active.model, active.dimensions))
    if other is None:
        log.warning("the embedder cannot make vectors of the active set %s (%s): new documents are searchable "
                    "once search switches to the configured set", active.id, active.name)
        return
    side = EmbeddingPass(active.id)
    try:
        _embed_all(engine, side, _distinct_missing(pending, have), other, active.dimensions, lambda batch: None)
    except ProviderConfigurationError as error:
        side.error = str(error)
    if side.error:
        log.warning("embedding for the active set %s (%s) failed: %s", active.id, active.name, side.error)


def _embed_all(engine: Engine, result: EmbeddingPass, work: list[StoredChunk], embedder: Embedder,
               dimensions: int, stored: Callable[[list[StoredChunk]], None]) -> None:
    """Send the batches, as many at once as `Window` finds the provider answers without queueing them
    (within the embedder's cap and a memory bound): its latency overlaps the other requests and the
    storing (and publishing) of vectors, and the shared rate budget decides when each goes. The first
    failure stops further sends; what is already in flight still lands in the cache."""
    batches = [[work[i] for i in batch_range]
               for batch_range in token_batches([c.token_count for c in work], embedder.batch_limits)]
    window = Window(embedder.max_requests_in_flight, dimensions)
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
                if (error := future.exception()) is not None:
                    window.closed(len(batch))
                    fatal = error if isinstance(error, ProviderConfigurationError) else fatal
                    _note_failure(result, error)
                    continue
                outcome = future.result()
                window.closed(len(batch), outcome.usage.input_tokens, outcome.usage.answer_seconds)
                _record(engine, result, batch, outcome, dimensions)
                if fatal is None and result.error is None:
                    send()  # before publishing, so the next requests are out while we publish
                stored(batch)
    if fatal is not None:
        raise fatal


def _note_failure(result: EmbeddingPass, error: BaseException) -> None:
    """Why the texts of a failed request are still missing: each of their documents reports it."""
    if isinstance(error, ProviderPaused):  # the provider's circuit is open: the documents wait
        result.paused, result.error = error, error.reason
    elif not isinstance(error, ProviderConfigurationError):
        result.error = f"{type(error).__name__}: {error}"


def _record(engine: Engine, result: EmbeddingPass, batch: list[StoredChunk], outcome, dimensions: int) -> None:
    vectors = [(batch[i].text_hash, vector) for i, vector in sorted(outcome.vectors.items())]
    _check_dimensions([v for _, v in vectors], dimensions)
    with engine.begin() as conn:
        embeddings.store(conn, result.set_id, vectors)
    result.usage.add(outcome.usage)
    result.texts_embedded += len(vectors)
    result.tokens_by_hash.update({batch[i].text_hash: batch[i].token_count for i in outcome.vectors})
    result.rejected.update({batch[i].text_hash: reason for i, reason in outcome.rejected.items()})


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
