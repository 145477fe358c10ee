"""Parser resources: turn a stored file into pages of Markdown-like text."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import dagster as dg
from pydantic import Field

from ingest_pipeline.circuit_breaker import COOLDOWN_SECONDS, FAILURE_THRESHOLD
from ingest_pipeline.extraction import ExtractionLimits, extract_pages
from ingest_pipeline.models import Page
from ingest_pipeline.parse_job_status import TERMINAL


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

# Bump when extraction changes what it produces, so stored parses are redone.
LOCAL_PARSER_VERSION = 2


class ParserResource(dg.ConfigurableResource):
    """What the `parse_job` and `parsed_text` assets need from any parser."""

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Changes whenever the same bytes could parse differently: part of the parse key."""


class SynchronousParser(ParserResource):
    """A parser that reads a file within the run: `parsed_text` parses, `parse_job` only records it."""

    @abstractmethod
    def parse(self, path: Path, media_type: str) -> Iterator[Page]:
        """The document's pages, lazily; raises DocumentRejected for a file it cannot read."""


class AsynchronousParser(ParserResource):
    """A parser service: `parse_job` submits and ends; `parsed_text` fetches once the job finished."""

    poll_after_seconds: float = Field(
        default=120.0, description="Poll a job through the API when no webhook came for this long (INGEST_PARSE_POLL_AFTER).")
    stuck_after_seconds: float = Field(
        default=1800.0, description="Submit again a job unfinished after this long (INGEST_PARSE_STUCK_AFTER).")
    max_submissions: int = Field(
        default=3, description="Submissions of one file before it is failed (INGEST_PARSE_MAX_SUBMISSIONS).")
    circuit_failures: int = Field(default=FAILURE_THRESHOLD, description="Consecutive failures that pause its work.")
    circuit_cooldown_seconds: float = Field(default=COOLDOWN_SECONDS, description="First pause after that.")

    @property
    @abstractmethod
    def circuit(self) -> str:
        """The name of the service's circuit (shared by every process using the service)."""

    @abstractmethod
    def submit(self, path: Path, file_name: str) -> ParseJob:
        """Start a job and return at once."""

    @abstractmethod
    def status(self, job_id: str) -> JobStatus:
        """The job's status (and error), without its content."""

    @abstractmethod
    def result(self, job_id: str) -> ParseResult:
        """The job's status, with its pages once it is complete; raises JobNotFound for an unknown job."""

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """Cancel a job that is no longer wanted."""


class LocalParser(SynchronousParser):
    """Offline parsing with pypdfium2, python-docx and the standard library."""

    max_pages: int = Field(default=ExtractionLimits().max_pages, description="Reject documents with more pages than this.")
    max_file_bytes: int = Field(default=ExtractionLimits().max_file_bytes, description="Reject larger files.")
    max_seconds: float = Field(default=ExtractionLimits().max_seconds,
                               description="Seconds one document's extraction may take (checked between pages).")

    @property
    def fingerprint(self) -> str:
        return f"local-v{LOCAL_PARSER_VERSION}-pages{self.max_pages}"

    def parse(self, path: Path, media_type: str) -> Iterator[Page]:
        limits = ExtractionLimits(max_pages=self.max_pages, max_file_bytes=self.max_file_bytes,
                                  max_seconds=self.max_seconds)
        return extract_pages(path, media_type, limits)
