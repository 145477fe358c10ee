"""What the parse stage needs from a parser, synchronous (reads a file in the run) or a service (jobs), and
what a parse job's answers look like. Plain types: the Dagster resources in `parse.resource` implement them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol, Sequence, runtime_checkable

from ingest_pipeline.domain.models import Page
from ingest_pipeline.domain.parse_job_status import TERMINAL
from ingest_pipeline.parse.poll_schedule import PollPolicy


@dataclass(frozen=True)
class ParseJob:
    job_id: str
    status: str
    tier: str


@dataclass(frozen=True)
class JobStatus:
    status: str
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class ParseResult(JobStatus):
    """A job's state; for a finished job its good pages, and the numbers of pages that failed."""

    pages: list[Page] = field(default_factory=list)
    failed_pages: dict[int, str] = field(default_factory=dict)


class JobNotFound(LookupError):
    """The service no longer knows the job (its result expired, or another account made it)."""


@runtime_checkable
class SynchronousParser(Protocol):
    """Reads a file within the run: `parsed_text` parses, `parse_job` only records it."""

    @property
    def fingerprint(self) -> str:
        """Changes whenever the same bytes could parse differently: part of the parse key."""

    def parse(self, path: Path, media_type: str) -> Iterator[Page]:
        """The document's pages, lazily; raises DocumentRejected for a file it cannot read."""


@runtime_checkable
class AsynchronousParser(Protocol):
    """A parser service: `parse_job` submits and ends; `parsed_text` fetches once the job finished."""

    poll_after_seconds: float
    watch_seconds: float
    stuck_after_seconds: float
    max_submissions: int
    circuit_failures: int
    circuit_cooldown_seconds: float

    @property
    def fingerprint(self) -> str:
        """Changes whenever the same bytes could parse differently: part of the parse key."""

    @property
    def circuit(self) -> str:
        """The name of the service's circuit (shared by every process using the service)."""

    def submit(self, path: Path, file_name: str) -> ParseJob:
        """Start a job and return at once."""

    @property
    def poll_policy(self) -> PollPolicy:
        """When to check on a job no webhook finished (`parse.poll_schedule`)."""

    def status(self, job_id: str) -> JobStatus:
        """The job's status (and error), without its content."""

    def statuses(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """The statuses of several jobs in as few requests as the service allows; jobs it does not list are left out."""

    def result(self, job_id: str) -> ParseResult:
        """The job's status, with its pages once it is complete; raises JobNotFound for an unknown job."""

    def cancel(self, job_id: str) -> None:
        """Cancel a job that is no longer wanted."""


# Any parser the stage can be given.
Parser = SynchronousParser | AsynchronousParser
