"""Jobs at a parser service: one submission per file version (shared by identical bytes), stuck jobs replaced, results fetched."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, TypeVar

from sqlalchemy import Connection, Engine

from ingest_pipeline.circuits.breaker import CircuitBreaker
from ingest_pipeline.domain.errors import DocumentRejected, ServiceUnavailable, Superseded, UpToDate, Waiting
from ingest_pipeline.domain.parse_job_status import COMPLETED, EXPIRED
from ingest_pipeline.domain.statuses import DocumentStatus, Stage
from ingest_pipeline.parse.parsers import AsynchronousParser, JobNotFound, ParseResult
from ingest_pipeline.parse.poll_schedule import estimated_pages, expected_seconds, first_check
from ingest_pipeline.store import documents, locks, parse_jobs
from ingest_pipeline.store.content import ContentStore
from ingest_pipeline.store.documents import Document
from ingest_pipeline.store.parse_jobs import ParseJobRecord

T = TypeVar("T")
# A finished job's result serves identical bytes for this long; services expire results eventually.
RESULT_REUSE_SECONDS = 24 * 3600


def submit_job(engine: Engine, doc: Document, store: ContentStore, parser: AsynchronousParser, key: str) -> dict:
    """Link the document to a job for its bytes: the one it waits on, a reusable one, or a new one."""
    # Identical bytes share one job, so their submissions take turns (documents of one run are
    # submitted two at a time, and runs and workers may overlap).
    with locks.for_session(engine, f"parse-job:{doc.sha256}:{parser.fingerprint}"):
        return _submit_job(engine, doc, store, parser)


def _submit_job(engine: Engine, doc: Document, store: ContentStore, parser: AsynchronousParser) -> dict:
    with engine.begin() as conn:
        current = parse_jobs.get(conn, doc.parse_job_id, lock=True) if doc.parse_job_id else None
        if current and _serves(current, doc, parser) and doc.status is DocumentStatus.SUBMITTED:
            if not current.open or not _stuck(current, parser):
                raise UpToDate()  # the job is under way, or finished and waiting for `parsed_text`
            parse_jobs.abandon(conn, current.job_id)
        reuse = parse_jobs.reusable(conn, doc.sha256, parser.fingerprint, RESULT_REUSE_SECONDS)
        if reuse and not (reuse.open and _stuck(reuse, parser)):
            _link(conn, doc, reuse.job_id)
            return {"parse_job_id": reuse.job_id, "reused": True}
        attempt = parse_jobs.abandoned_count(conn, doc.sha256, parser.fingerprint) + 1
    if current and current.open and _stuck(current, parser):
        parser.cancel(current.job_id)
    if attempt > parser.max_submissions:
        raise DocumentRejected(
            f"the parser did not finish {doc.file_name} in {parser.max_submissions} submissions "
            f"of {parser.stuck_after_seconds:g} s each; re-drive it later")
    job = guarded(engine, parser, lambda: parser.submit(store.path_for(doc.sha256), doc.file_name))
    expected = expected_seconds(estimated_pages(doc.size_bytes, doc.media_type), job.tier)
    with engine.begin() as conn:
        parse_jobs.insert(conn, job.job_id, doc.sha256, parser.fingerprint, attempt, job.status,
                          first_check(expected, parser.poll_policy))
        _link(conn, doc, job.job_id)
    return {"parse_job_id": job.job_id, "attempt": attempt, "tier": job.tier}


def fetch_job_result(engine: Engine, doc: Document, parser: AsynchronousParser, key: str) -> tuple[str, ParseResult]:
    """The finished job's result with at least one good page; otherwise wait, resubmit or fail the document."""
    with engine.connect() as conn:
        job = parse_jobs.get(conn, doc.parse_job_id) if doc.parse_job_id else None
    if job is None or not _serves(job, doc, parser):
        _send_back(engine, doc.id)
        raise Superseded("no parse job for this version and parser yet: sent back to `parse_job`")
    if job.open:
        raise Waiting(f"parse job {job.job_id} is {job.status}; a webhook or a poll will say when it ends")
    try:
        result = guarded(engine, parser, lambda: parser.result(job.job_id))
    except JobNotFound:
        with engine.begin() as conn:
            parse_jobs.consume(conn, job.job_id, EXPIRED, "the service no longer has this job")
        _send_back(engine, doc.id)
        raise Superseded(f"parse job {job.job_id} is gone from the service: sent back to be submitted again")
    if not result.finished:
        with engine.begin() as conn:
            parse_jobs.reopen(conn, job.job_id, result.status)  # an early or out-of-order webhook
        raise Waiting(f"parse job {job.job_id} is still {result.status}")
    with engine.begin() as conn:
        parse_jobs.consume(conn, job.job_id, result.status, result.error)
    if result.status != COMPLETED:
        raise DocumentRejected(f"the parser reported job {job.job_id} {result.status.lower()}: "
                               f"{result.error or 'no reason given'}", restart_stage=Stage.PARSE_JOB)
    if not result.pages:
        failed = "; ".join(f"page {number}: {why}" for number, why in sorted(result.failed_pages.items())[:3])
        raise DocumentRejected(f"the parser could not read any page of {doc.file_name}"
                               + (f" ({failed})" if failed else ""), restart_stage=Stage.PARSE_JOB)
    return job.job_id, result


def guarded(engine: Engine, parser: AsynchronousParser, call: Callable[[], T]) -> T:
    """Call the service through its circuit: paused while open, and every outcome counted."""
    breaker = CircuitBreaker(engine, parser.circuit, parser.circuit_failures, parser.circuit_cooldown_seconds)
    breaker.check()
    try:
        value = call()
    except ServiceUnavailable as error:
        breaker.record_failure(str(error))  # raises ProviderPaused if this failure opened the circuit
        raise
    breaker.record_success()
    return value


def _serves(job: ParseJobRecord, doc: Document, parser: AsynchronousParser) -> bool:
    return job.sha256 == doc.sha256 and job.parser == parser.fingerprint


def _stuck(job: ParseJobRecord, parser: AsynchronousParser) -> bool:
    return (datetime.now(timezone.utc) - job.submitted_at).total_seconds() > parser.stuck_after_seconds


def _link(conn: Connection, doc: Document, job_id: str) -> None:
    documents.update(conn, doc.id, status=str(DocumentStatus.SUBMITTED), parse_job_id=job_id,
                     failed_stage=None, reason=None)


def _send_back(engine: Engine, document_id: str) -> None:
    """Back to `registered`, queued again, so the uploads sensor submits it afresh."""
    with engine.begin() as conn:
        documents.update(conn, document_id, status=str(DocumentStatus.REGISTERED), parse_job_id=None)
        documents.request_processing(conn, document_id)
