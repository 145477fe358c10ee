"""An embedding pass sends requests a few at a time, stops sending at the first failure, and keeps what landed."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from ingest_pipeline.domain.models import Chunk
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.embed import stage as embed
from ingest_pipeline.embed.batching import BatchLimits, minimum_requests, minimum_requests_for
from ingest_pipeline.embed.embedder import BatchOutcome, EmbeddingSpace
from ingest_pipeline.embed.window import VECTOR_FLOATS_IN_FLIGHT, Window
from ingest_pipeline.store import chunks, documents
from ingest_pipeline_tests.pipeline_runs import register, write


class CountingEmbedder:
    """One input per request; request number `fail_at` (1-based) raises."""

    space = EmbeddingSpace("test", "counting", 2)
    batch_limits = BatchLimits(max_inputs=1, max_tokens=1000, max_tokens_per_input=1000)
    max_requests_in_flight = 4

    def __init__(self, fail_at: int | None = None):
        self.fail_at, self.calls, self._lock = fail_at, 0, threading.Lock()

    def embed_batch(self, texts, token_counts) -> BatchOutcome:
        with self._lock:
            self.calls += 1
            number = self.calls
        if number == self.fail_at:
            raise RuntimeError("the provider fell over")
        return BatchOutcome(vectors={i: [1.0, float(len(t))] for i, t in enumerate(texts)})


@pytest.mark.parametrize("counts", [[], [1], [5] * 3000, [150_000, 150_000, 1]])
def test_the_minimum_from_totals_is_the_minimum_from_counts(counts):
    limits = BatchLimits(2048, 300_000, 8192)
    assert minimum_requests_for(len(counts), sum(counts), limits) == minimum_requests(counts, limits)


def _document_with_chunks(app, tmp_path, count: int) -> str:
    doc_id = register(app, write(tmp_path, "doc.txt", "text"))
    with app.engine.begin() as conn:
        chunks.stage(conn, doc_id, [Chunk(i, f"text number {i}", 3, 1, 1) for i in range(count)])
        documents.update(conn, doc_id, status=str(DocumentStatus.CHUNKED))
    return doc_id


def test_every_text_is_embedded_once_with_several_requests_in_flight(app, tmp_path):
    doc_id = _document_with_chunks(app, tmp_path, 9)
    embedder = CountingEmbedder()
    result = embed.embed_pending(app.engine, [doc_id], embedder)
    assert embedder.calls == 9 and result.texts_embedded == 9 and result.error is None
    assert result.published[doc_id]["chunks"] == 9


def test_a_failed_request_stops_further_sends_and_keeps_the_vectors_that_landed(app, tmp_path):
    doc_id = _document_with_chunks(app, tmp_path, 20)
    embedder = CountingEmbedder(fail_at=3)
    result = embed.embed_pending(app.engine, [doc_id], embedder)
    with app.engine.connect() as conn:
        cached = conn.execute(text("SELECT count(*) FROM embedding_cache WHERE set_id = :s"), {"s": result.set_id}).scalar()
        status = documents.get(conn, doc_id).status
    assert "fell over" in result.error
    # Sends stop at the failure: at most the requests already in flight complete after it.
    assert embedder.calls <= 3 + embedder.max_requests_in_flight
    assert cached == result.texts_embedded == embedder.calls - 1
    assert doc_id not in result.published and status is DocumentStatus.CHUNKED


def test_the_window_bounds_requests_and_the_vectors_their_answers_hold():
    window = Window(most=3, dimensions=1536, limit=3)
    full = VECTOR_FLOATS_IN_FLIGHT // 1536 // 2  # inputs of one of two full requests
    assert window.has_room(10 * full)  # one request always goes, however large
    window.opened(full)
    assert window.has_room(full) and not window.has_room(full + 1)
    window.opened(1)
    window.opened(1)
    assert not window.has_room(1)  # three out: the count bounds them too
    window.closed(full)
    assert window.has_room(full - 2)


def test_the_window_grows_while_answers_keep_their_pace_and_holds_when_they_slow_down():
    far = Window(most=16, dimensions=8)  # latency, not work: answers take as long whatever is out
    for _ in range(6):
        far.opened(10)
        far.closed(10, tokens=1000, seconds=0.5)
    assert int(far.limit) == 8
    busy = Window(most=16, dimensions=8)  # work: with n out, each answer takes n times as long
    for _ in range(10):
        out = max(1, int(busy.limit))
        busy.opened(10)
        busy.closed(10, tokens=1000, seconds=0.5 * out)
    assert int(busy.limit) <= 3
    capped = Window(most=4, dimensions=8)
    for _ in range(10):
        capped.opened(10)
        capped.closed(10, tokens=1000, seconds=0.5)
    assert capped.limit == 4
