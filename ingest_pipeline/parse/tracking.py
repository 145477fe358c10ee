"""Learning when parse jobs end: webhook events folded in, silent jobs checked on their schedule, finished and
stuck jobs handed to runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from sqlalchemy import Engine

from ingest_pipeline.domain.parse_job_status import EXPIRED, TERMINAL, status_for_event
from ingest_pipeline.domain.providers import LLAMAPARSE
from ingest_pipeline.parse.parsers import AsynchronousParser, JobNotFound, JobStatus
from ingest_pipeline.parse.poll_schedule import next_check
from ingest_pipeline.store import parse_jobs, webhook_log

EVENTS_PER_TICK = 1000
# Due jobs asked about in one pass, a few list requests' worth, longest overdue first.
POLLS_PER_TICK = 500
# A run requested for a finished job that has not consumed it by then (lost, or never launched) is requested again.
REREQUEST_AFTER_SECONDS = 600
# While watching, the database is looked at this often (a look costs a few indexed queries, no API request).
WATCH_STEP_SECONDS = 0.25


@dataclass
class TrackingReport:
    events: int = 0
    finished: int = 0
    polled: int = 0
    notes: list[str] = field(default_factory=list)
    fetch: list[tuple[str, str]] = field(default_factory=list)
    resubmit: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.events} webhook event(s), {self.polled} job(s) polled, {self.finished} finished; "
                f"{len(self.fetch)} document(s) to fetch, {len(self.resubmit)} to submit again")

    def add(self, other: "TrackingReport") -> None:
        self.events, self.finished, self.polled = (self.events + other.events, self.finished + other.finished,
                                                   self.polled + other.polled)
        self.notes += other.notes
        self.fetch += other.fetch
        self.resubmit += other.resubmit


def track(engine: Engine, parser: AsynchronousParser) -> TrackingReport:
    """One reconciliation pass; what it returns is for the caller to run."""
    report = TrackingReport()
    apply_events(engine, report)
    poll_silent(engine, parser, report)
    with engine.begin() as conn:
        claimed = parse_jobs.claim_finished(conn, REREQUEST_AFTER_SECONDS)
        report.fetch = parse_jobs.waiting_documents(conn, claimed)
        for job_id in set(claimed) - {job for _, job in report.fetch}:
            parse_jobs.consume(conn, job_id, parse_jobs.get(conn, job_id).status)  # nobody waits for it any more
        stuck = parse_jobs.claim_stuck(conn, parser.stuck_after_seconds, REREQUEST_AFTER_SECONDS)
        report.resubmit = parse_jobs.waiting_documents(conn, stuck)
    return report


def watch(engine: Engine, parser: AsynchronousParser, seconds: float, sleep: Callable[[float], None] = time.sleep,
          clock: Callable[[], float] = time.monotonic) -> TrackingReport:
    """Reconcile every WATCH_STEP_SECONDS for up to `seconds`, and return as soon as a pass has work for a
    run: every job finished by then goes into that run, and none waits for later ones."""
    deadline = clock() + seconds
    total = TrackingReport()
    while True:
        report = track(engine, parser)
        total.add(report)
        if report.fetch or report.resubmit or clock() + WATCH_STEP_SECONDS > deadline:
            return total
        with engine.connect() as conn:
            if not parse_jobs.any_open(conn):
                return total  # no job can finish meanwhile
        sleep(WATCH_STEP_SECONDS)


def apply_events(engine: Engine, report: TrackingReport) -> None:
    """Each recorded event finishes its job at most once (which also ends its checks); unknown jobs and late
    news are noted, not errors."""
    with engine.begin() as conn:
        for event_id, event_type, job_id in webhook_log.unconsumed(conn, LLAMAPARSE, EVENTS_PER_TICK):
            report.events += 1
            status = status_for_event(event_type)
            if parse_jobs.get(conn, job_id) is None:
                outcome = "ignored: no such job here"
            elif status is None:
                outcome = f"ignored: {event_type} ends nothing"
            elif parse_jobs.finish(conn, job_id, status):
                outcome, report.finished = f"job {status}", report.finished + 1
            else:
                outcome = "ignored: the job had already finished"
            webhook_log.consume(conn, event_id, outcome)


def poll_silent(engine: Engine, parser: AsynchronousParser, report: TrackingReport) -> None:
    """Ask the service, in batches, about the open jobs whose next check is due; schedule the next one."""
    with engine.connect() as conn:
        due = parse_jobs.due_for_poll(conn, POLLS_PER_TICK)
    if not due:
        return
    states = _statuses(parser, [job_id for job_id, _ in due], report)
    policy = parser.poll_policy
    with engine.begin() as conn:
        parse_jobs.count_checks(conn, [job_id for job_id, _ in due])
        for job_id, elapsed in due:
            state = states.get(job_id)
            if state is not None and state.status in (*TERMINAL, EXPIRED):
                if parse_jobs.finish(conn, job_id, state.status, state.error):
                    report.finished += 1
                continue
            # A job the service could not tell us about keeps its status and is asked about again later.
            parse_jobs.checked(conn, job_id, state and state.status, next_check(elapsed, policy) - elapsed)
    report.polled += sum(1 for job_id, _ in due if job_id in states)


def _statuses(parser: AsynchronousParser, job_ids: list[str], report: TrackingReport) -> dict[str, JobStatus]:
    """Batched statuses; a job the list leaves out is asked about alone, so a job the service lost is told apart."""
    try:
        states = parser.statuses(job_ids)
    except Exception as error:  # the service may be down: the jobs are asked about again later
        report.notes.append(f"could not check {len(job_ids)} job(s): {type(error).__name__}: {error}")
        return {}
    for job_id in [job_id for job_id in job_ids if job_id not in states]:
        try:
            states[job_id] = parser.status(job_id)
        except JobNotFound as error:
            states[job_id] = JobStatus(EXPIRED, str(error))
        except Exception as error:
            report.notes.append(f"could not check job {job_id}: {type(error).__name__}: {error}")
    return states


def wait_for_jobs(engine: Engine, parser: AsynchronousParser, document_ids: Sequence[str],
                  sleep: Callable[[float], None] = time.sleep) -> bool:
    """Follow the documents' jobs (webhooks recorded by an API, else checks on their schedule) until none is
    open, or until a job could be stuck; True when none is open."""
    deadline = time.monotonic() + parser.stuck_after_seconds
    while True:
        report = TrackingReport()
        apply_events(engine, report)
        poll_silent(engine, parser, report)
        with engine.connect() as conn:
            if not parse_jobs.open_for_documents(conn, document_ids):
                return True
        if time.monotonic() > deadline:
            return False
        sleep(WATCH_STEP_SECONDS)
