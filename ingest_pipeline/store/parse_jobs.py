"""The parse_jobs table: submitted jobs, the hints and polls that finish them, and their hand-over to a run."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Sequence

from sqlalchemy import Connection, text

from ingest_pipeline.domain.parse_job_status import ABANDONED, UNUSABLE
from ingest_pipeline.domain.statuses import DocumentStatus


@dataclass(frozen=True)
class ParseJobRecord:
    job_id: str
    sha256: str
    parser: str
    attempt: int
    status: str
    error: str | None
    submitted_at: datetime
    finished_at: datetime | None
    consumed_at: datetime | None
    checks: int = 0

    @property
    def open(self) -> bool:
        """Neither finished (by a hint or a poll) nor consumed."""
        return self.finished_at is None and self.consumed_at is None


_COLUMNS = ", ".join(f.name for f in fields(ParseJobRecord))
_OPEN = "finished_at IS NULL AND consumed_at IS NULL"
# Open jobs, and jobs finished; a consumed job stays usable until its result may have expired.
_REUSABLE = ("(status <> ALL(:unusable) AND (consumed_at IS NULL OR consumed_at > now() - make_interval(secs => :keep)))")


def insert(conn: Connection, job_id: str, sha256: str, parser: str, attempt: int, status: str,
           first_check_seconds: float = 0.0) -> None:
    conn.execute(text("INSERT INTO parse_jobs (job_id, sha256, parser, attempt, status, next_check_at) "
                      "VALUES (:job, :sha, :parser, :attempt, :status, now() + make_interval(secs => :first))"),
                 {"job": job_id, "sha": sha256, "parser": parser, "attempt": attempt, "status": status,
                  "first": first_check_seconds})


def get(conn: Connection, job_id: str, lock: bool = False) -> ParseJobRecord | None:
    sql = f"SELECT {_COLUMNS} FROM parse_jobs WHERE job_id = :job" + (" FOR UPDATE" if lock else "")
    row = conn.execute(text(sql), {"job": job_id}).first()
    return ParseJobRecord(**row._asdict()) if row else None


def reusable(conn: Connection, sha256: str, parser: str, keep_seconds: float) -> ParseJobRecord | None:
    """The latest job for these exact bytes and parser settings that did or may still succeed."""
    row = conn.execute(text(
        f"SELECT {_COLUMNS} FROM parse_jobs WHERE sha256 = :sha AND parser = :parser AND {_REUSABLE} "
        "ORDER BY submitted_at DESC LIMIT 1"), {"sha": sha256, "parser": parser, "keep": keep_seconds, "unusable": list(UNUSABLE)}).first()
    return ParseJobRecord(**row._asdict()) if row else None


def abandoned_count(conn: Connection, sha256: str, parser: str) -> int:
    """Submissions of these bytes that never finished: the attempts spent so far."""
    return conn.execute(text("SELECT count(*) FROM parse_jobs WHERE sha256 = :sha AND parser = :parser "
                             f"AND status = '{ABANDONED}'"), {"sha": sha256, "parser": parser}).scalar_one()


def finish(conn: Connection, job_id: str, status: str, error: str | None = None) -> bool:
    """Record a terminal status learnt from a webhook or a poll; False if the job is unknown,
    already finished or consumed (so late, duplicated and out-of-order news changes nothing)."""
    return conn.execute(text(
        "UPDATE parse_jobs SET status = :status, error = :error, finished_at = now(), checked_at = now(), "
        "requested_at = NULL, next_check_at = NULL "
        "WHERE job_id = :job AND finished_at IS NULL AND consumed_at IS NULL RETURNING job_id"),
        {"job": job_id, "status": status, "error": error}).first() is not None


def checked(conn: Connection, job_id: str, status: str | None, next_check_in: float) -> None:
    """The service says the job is still `status` (None: it could not say): ask again in `next_check_in` seconds."""
    conn.execute(text("UPDATE parse_jobs SET status = coalesce(:status, status), checked_at = now(), "
                      "next_check_at = now() + make_interval(secs => :later) WHERE job_id = :job "
                      "AND consumed_at IS NULL"), {"job": job_id, "status": status, "later": next_check_in})


def count_checks(conn: Connection, job_ids: Sequence[str]) -> None:
    """One status check more for each of these jobs (each is one request, or one place in a batch)."""
    conn.execute(text("UPDATE parse_jobs SET checks = checks + 1 WHERE job_id = ANY(:jobs)"), {"jobs": list(job_ids)})


def reopen(conn: Connection, job_id: str, status: str) -> None:
    """A hint said finished, the API says not yet (an early or out-of-order webhook): wait again."""
    conn.execute(text("UPDATE parse_jobs SET status = :status, finished_at = NULL, requested_at = NULL, "
                      "checked_at = now(), next_check_at = now() WHERE job_id = :job AND consumed_at IS NULL"),
                 {"job": job_id, "status": status})


def consume(conn: Connection, job_id: str, status: str, error: str | None = None) -> None:
    conn.execute(text("UPDATE parse_jobs SET status = :status, error = coalesce(:error, error), "
                      "finished_at = coalesce(finished_at, now()), consumed_at = now() WHERE job_id = :job"),
                 {"job": job_id, "status": status, "error": error})


def abandon(conn: Connection, job_id: str) -> None:
    conn.execute(text(f"UPDATE parse_jobs SET status = '{ABANDONED}', consumed_at = now() "
                      "WHERE job_id = :job AND consumed_at IS NULL"), {"job": job_id})


def due_for_poll(conn: Connection, limit: int) -> list[tuple[str, float]]:
    """(job id, seconds since submission) of open jobs whose next status check is due, the longest overdue first."""
    return [tuple(row) for row in conn.execute(text(
        f"SELECT job_id, extract(epoch FROM now() - submitted_at)::float FROM parse_jobs WHERE {_OPEN} "
        "AND coalesce(next_check_at, submitted_at) <= now() ORDER BY next_check_at LIMIT :limit"), {"limit": limit})]


def any_open(conn: Connection) -> bool:
    """Whether some job may still finish (and so a webhook or a check may still bring news)."""
    return conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM parse_jobs WHERE {_OPEN})")).scalar_one()


def claim_stuck(conn: Connection, after_seconds: float, rerequest_after_seconds: float) -> list[str]:
    """Open jobs submitted more than `after_seconds` ago, to be replaced by a new submission; marks
    them requested so each is handed to one run."""
    return list(conn.execute(text(
        "UPDATE parse_jobs SET requested_at = now() WHERE job_id IN ("
        " SELECT job_id FROM parse_jobs WHERE finished_at IS NULL AND consumed_at IS NULL"
        " AND submitted_at < now() - make_interval(secs => :after)"
        " AND (requested_at IS NULL OR requested_at < now() - make_interval(secs => :again))"
        " ORDER BY submitted_at FOR UPDATE SKIP LOCKED) RETURNING job_id"),
        {"after": after_seconds, "again": rerequest_after_seconds}).scalars())


def claim_finished(conn: Connection, rerequest_after_seconds: float) -> list[str]:
    """Finished, unconsumed jobs no run was requested for (or whose run never consumed them);
    marks them requested so each is handed to one run."""
    return list(conn.execute(text(
        "UPDATE parse_jobs SET requested_at = now() WHERE job_id IN ("
        " SELECT job_id FROM parse_jobs WHERE finished_at IS NOT NULL AND consumed_at IS NULL"
        " AND (requested_at IS NULL OR requested_at < now() - make_interval(secs => :after))"
        " ORDER BY finished_at FOR UPDATE SKIP LOCKED) RETURNING job_id"),
        {"after": rerequest_after_seconds}).scalars())


def waiting_documents(conn: Connection, job_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(document id, job id) of documents still waiting on these jobs."""
    return [tuple(row) for row in conn.execute(text(
        "SELECT id, parse_job_id FROM documents WHERE parse_job_id = ANY(:jobs) AND status = :submitted "
        "ORDER BY intake_seq"), {"jobs": list(job_ids), "submitted": str(DocumentStatus.SUBMITTED)})]


def open_for_documents(conn: Connection, document_ids: Sequence[str]) -> int:
    """How many of these documents still wait on an open job."""
    return conn.execute(text(
        "SELECT count(*) FROM documents d JOIN parse_jobs j ON j.job_id = d.parse_job_id "
        "WHERE d.id = ANY(:ids) AND d.status = :submitted AND j.finished_at IS NULL AND j.consumed_at IS NULL"),
        {"ids": list(document_ids), "submitted": str(DocumentStatus.SUBMITTED)}).scalar_one()
