"""Learning when parse jobs end: webhook events folded in, silent jobs polled, finished and stuck jobs handed to runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from sqlalchemy import Engine

from ingest_pipeline.domain.parse_job_status import EXPIRED, TERMINAL, status_for_event
from ingest_pipeline.domain.providers import LLAMAPARSE
from ingest_pipeline.parse.parsers import AsynchronousParser, JobNotFound
from ingest_pipeline.store import parse_jobs, webhook_log

EVENTS_PER_TICK = 1000
# Each poll is one API call: a tick polls at most this many silent jobs, oldest first.
POLLS_PER_TICK = 50
# A run requested for a finished job that has not consumed it by then (lost, or never launched) is requested again.
REREQUEST_AFTER_SECONDS = 600


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


def track(engine: Engine, parser: AsynchronousParser) -> TrackingReport:
    """One reconciliation pass; what it returns is for the caller to run."""
    report = TrackingReport()
    apply_events(engine, report)
    poll_silent(engine, parser, parser.poll_after_seconds, report)
    with engine.begin() as conn:
        claimed = parse_jobs.claim_finished(conn, REREQUEST_AFTER_SECONDS)
        report.fetch = parse_jobs.waiting_documents(conn, claimed)
        for job_id in set(claimed) - {job for _, job in report.fetch}:
            parse_jobs.consume(conn, job_id, parse_jobs.get(conn, job_id).status)  # nobody waits for it any more
        stuck = parse_jobs.claim_stuck(conn, parser.stuck_after_seconds, REREQUEST_AFTER_SECONDS)
        report.resubmit = parse_jobs.waiting_documents(conn, stuck)
    return report


def apply_events(engine: Engine, report: TrackingReport) -> None:
    """Each recorded event finishes its job at most once; unknown jobs and late news are noted, not errors."""
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


def poll_silent(engine: Engine, parser: AsynchronousParser, after_seconds: float, report: TrackingReport) -> None:
    """Ask the service about open jobs with no news for `after_seconds`."""
    with engine.connect() as conn:
        due = parse_jobs.due_for_poll(conn, after_seconds, POLLS_PER_TICK)
    for job_id in due:
        try:
            state = parser.status(job_id)
        except JobNotFound as error:
            state_status, state_error = EXPIRED, str(error)
        except Exception as error:  # the service may be down: the next pass asks again
            report.notes.append(f"could not poll job {job_id}: {type(error).__name__}: {error}")
            continue
        else:
            state_status, state_error = state.status, state.error
        report.polled += 1
        with engine.begin() as conn:
            if state_status in (*TERMINAL, EXPIRED) and parse_jobs.finish(conn, job_id, state_status, state_error):
                report.finished += 1
            else:
                parse_jobs.checked(conn, job_id, state_status)



def wait_for_jobs(engine: Engine, parser: AsynchronousParser, document_ids: Sequence[str],
                  sleep: Callable[[float], None] = time.sleep) -> bool:
    """Follow the documents' jobs (webhooks recorded by an API, else polls) until none is open, or
    until a job could be stuck; True when none is open."""
    deadline = time.monotonic() + parser.stuck_after_seconds
    pause = 1.0
    while True:
        report = TrackingReport()
        apply_events(engine, report)
        poll_silent(engine, parser, pause, report)
        with engine.connect() as conn:
            if not parse_jobs.open_for_documents(conn, document_ids):
                return True
        if time.monotonic() > deadline:
            return False
        sleep(pause)
        pause = min(pause + 1.0, 5.0)  # the SDK's own wait grows the same way
