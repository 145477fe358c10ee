"""Runs one stage over the documents of a run so that one document's failure never stops the others."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from sqlalchemy import Engine

from ingest_pipeline.domain.errors import DocumentRejected, ProviderPaused, Superseded, UpToDate, Waiting
from ingest_pipeline.domain.statuses import DocumentStatus, Stage, is_ready_for
from ingest_pipeline.logs.redaction import public_reason
from ingest_pipeline.orchestration.process_map import cores
from ingest_pipeline.orchestration.workers import in_order, stage_workers
from ingest_pipeline.store import documents
from ingest_pipeline.store.documents import Document

# Failed attempts of one document at an unexpected error before it is failed for good.
MAX_ATTEMPTS = 3
# Documents a stage works on at once, each in its own thread and transaction. Their time is mostly
# database round trips and hashing, which release the GIL: a second document uses the time one
# waits; more gain little on two cores and hold more documents in memory.
DOCUMENTS_AT_ONCE = 2
# Documents a stage whose work holds the GIL (extracting HTML, cleaning, tokenising) works on at once,
# each in a forked process: one per core, at most four, since each holds one document's text.
PROCESSES_AT_ONCE = max(DOCUMENTS_AT_ONCE, min(4, cores()))
# Documents `run_stage_in_order` prepares ahead of the one it finishes: bounds the memory they hold.
PREPARED_AT_MOST = 16

# Why a document whose worker process died is failed (it died again when the document ran alone).
WORKER_DIED = ("the process working on it died (a crash in native code, or killed for lack of memory), "
               "twice; no other document was affected")

# What became of a document at a stage; a failure is the document's status, so FAILED is that one word.
DONE, UP_TO_DATE, SKIPPED, WAITING, RETRY = "done", "up to date", "skipped", "waiting", "will retry"
FAILED = DocumentStatus.FAILED.value


@dataclass
class Outcome:
    document_id: str
    source: str
    state: str
    facts: dict = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""


Handler = Callable[[Engine, Document], dict]


def run_stage(engine: Engine, stage: Stage, keys: Sequence[str], handler: Handler,
              at_once: int = DOCUMENTS_AT_ONCE, processes: bool = False) -> list[Outcome]:
    """Apply `handler` to every ready document among `keys`, `at_once` documents at a time (in
    threads, or forked processes if `processes`), recording failures per document; outcomes come
    back in the order of `keys`."""
    docs = _documents(engine, keys)

    def died(key: str) -> Outcome:
        return _one(engine, stage, key, docs.get(key), lambda e, d: _reject(WORKER_DIED))

    with stage_workers(engine, str(stage), lambda key: _one(engine, stage, key, docs.get(key), handler),
                       at_once, processes and len(keys) > 1) as workers:
        return [outcome for _, outcome in in_order(workers, keys, len(keys), died)]


def run_stage_in_order(engine: Engine, stage: Stage, keys: Sequence[str], prepare: Callable[[Engine, Document], Any],
                       finish: Callable[[Engine, Document, Any], dict], at_once: int = DOCUMENTS_AT_ONCE,
                       processes: bool = False) -> list[Outcome]:
    """`run_stage` for a handler in two parts: `prepare` (reading and computing) runs `at_once`
    documents at a time, then `finish` (a decision that must follow partition order) takes each
    prepared document one at a time, in the order of `keys`, in this process. A document's failure
    in either part is recorded as in `run_stage`."""
    docs = _documents(engine, keys)

    def early(key: str) -> _Prepared | None:
        doc = docs.get(key)
        if doc is None or not is_ready_for(stage, doc.status):
            return None
        started = time.monotonic()
        try:
            return _Prepared(prepare(engine, doc), None, time.monotonic() - started)
        except Exception as error:  # raised again below, in order, where _attempt classifies it
            return _Prepared(None, error, time.monotonic() - started)

    outcomes = []
    with stage_workers(engine, str(stage), early, at_once, processes and len(keys) > 1) as workers:
        # Prepared documents (a cleaned text each) wait in memory for their turn: a bounded number.
        for key, part in in_order(workers, keys, PREPARED_AT_MOST, _died_while_preparing):
            outcomes.append(_one(engine, stage, key, docs.get(key), lambda e, d, p=part: p.finish(e, d, finish)))
            outcomes[-1].seconds += part.seconds if part else 0.0
    return outcomes


def _reject(reason: str) -> dict:
    raise DocumentRejected(reason)


def _died_while_preparing(key: str) -> _Prepared:
    return _Prepared(None, DocumentRejected(WORKER_DIED), 0.0)


@dataclass
class _Prepared:
    value: Any
    error: Exception | None
    seconds: float

    def finish(self, engine: Engine, doc: Document, finish: Callable[[Engine, Document, Any], dict]) -> dict:
        if self.error is not None:
            raise self.error
        return finish(engine, doc, self.value)


def _documents(engine: Engine, keys: Sequence[str]) -> dict[str, Document]:
    with engine.connect() as conn:
        return {doc.id: doc for doc in documents.get_many(conn, keys)}


def _one(engine: Engine, stage: Stage, key: str, doc: Document | None, handler: Handler) -> Outcome:
    if doc is None:
        return Outcome(key, "", SKIPPED, note="no such document (deleted?)")
    if not is_ready_for(stage, doc.status):
        return Outcome(key, doc.source, SKIPPED, note=_why_not_ready(doc))
    if doc.load_error:  # its row holds a value no stage can use: it fails alone, the run goes on
        return _attempt(engine, stage, doc, lambda e, d: _reject(doc.load_error))
    return _attempt(engine, stage, doc, handler)


def _attempt(engine: Engine, stage: Stage, doc: Document, handler: Handler) -> Outcome:
    started = time.monotonic()
    outcome = Outcome(doc.id, doc.source, DONE)
    try:
        outcome.facts = handler(engine, doc)
    except UpToDate:
        outcome.state = UP_TO_DATE
    except Superseded as superseded:
        outcome.state, outcome.note = SKIPPED, str(superseded)
    except Waiting as waiting:
        outcome.state, outcome.note = WAITING, str(waiting)
    except ProviderPaused as paused:
        pause(engine, doc.id, paused)
        outcome.state, outcome.note = WAITING, paused.reason
    except DocumentRejected as rejected:
        fail(engine, doc.id, Stage(rejected.restart_stage or stage), rejected.reason)
        outcome.state, outcome.note = FAILED, rejected.reason
    except Exception as error:  # anything else may pass: count it and let the step retry
        outcome.state, outcome.note = _count_attempt(engine, stage, doc.id, error)
    outcome.seconds = time.monotonic() - started
    return outcome


def pause(engine: Engine, document_id: str, paused: ProviderPaused) -> None:
    """The document waits for its provider's circuit to close; the uploads sensor queues it again then."""
    with engine.begin() as conn:
        documents.update(conn, document_id, paused_for=paused.provider, reason=public_reason(paused.reason))


def fail(engine: Engine, document_id: str, stage: Stage, reason: str) -> None:
    with engine.begin() as conn:
        documents.mark_failed(conn, document_id, stage, public_reason(reason))


def _count_attempt(engine: Engine, stage: Stage, document_id: str, error: Exception) -> tuple[str, str]:
    # An unexpected error's text may hold anything (a URL with its key, a path in our storage).
    message = public_reason(f"{type(error).__name__}: {error}")
    with engine.begin() as conn:
        attempts = documents.record_attempt(conn, document_id, message)
        if attempts < MAX_ATTEMPTS:
            return RETRY, f"attempt {attempts} of {MAX_ATTEMPTS} failed: {message}"
        reason = f"gave up after {attempts} attempts; last error: {message}"
        documents.mark_failed(conn, document_id, stage, reason)
    return FAILED, reason


def _why_not_ready(doc: Document) -> str:
    if doc.reason and doc.failed_stage:
        return f"{doc.status} at {doc.failed_stage}: {doc.reason} (re-drive with `ingest-pipeline retry`)"
    if doc.status is DocumentStatus.SUBMITTED and doc.parse_job_id:
        return f"waiting for parse job {doc.parse_job_id}"
    if doc.duplicate_of:
        return f"duplicate of {doc.duplicate_of}"
    return f"waiting: status is {doc.status}"
