"""Parser resources: the configured parser, offline (`LocalParser`) or a service (see `parse.llamaparse`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import dagster as dg
from pydantic import Field

from ingest_pipeline.circuits.breaker import COOLDOWN_SECONDS, FAILURE_THRESHOLD
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction import ExtractionLimits, extract_pages
from ingest_pipeline.parse.poll_schedule import POLL_DEFAULTS, WATCH_SECONDS, PollPolicy
from ingest_pipeline.parse.sandbox import SANDBOXED, SandboxLimits, sandboxed_pages

# Bump when extraction changes what it produces, so stored parses are redone.
LOCAL_PARSER_VERSION = 2


class ParserResource(dg.ConfigurableResource):
    """The configured parser, as a resource; what the stage needs of it is `parse.parsers`' protocols."""


class AsynchronousParserResource(ParserResource):
    """The settings every parser service shares; a subclass speaks to the service (`parse.parsers.AsynchronousParser`)."""

    poll_after_seconds: float = Field(
        default=POLL_DEFAULTS.cap_seconds,
        description="Longest wait between two status checks of a job no webhook finished (INGEST_PARSE_POLL_AFTER).")
    poll_first_seconds: float = Field(
        default=POLL_DEFAULTS.first_seconds,
        description="Earliest first status check; later for bigger files and slower tiers (INGEST_PARSE_POLL_FIRST).")
    poll_backoff: float = Field(
        default=POLL_DEFAULTS.backoff,
        description="Each check comes this many times as long after submission as the last (INGEST_PARSE_POLL_BACKOFF).")
    watch_seconds: float = Field(
        default=WATCH_SECONDS,
        description="How long one parse-completion sensor evaluation watches for finished jobs (INGEST_PARSE_WATCH).")
    stuck_after_seconds: float = Field(
        default=1800.0, description="Submit again a job unfinished after this long (INGEST_PARSE_STUCK_AFTER).")
    max_submissions: int = Field(
        default=3, description="Submissions of one file before it is failed (INGEST_PARSE_MAX_SUBMISSIONS).")
    circuit_failures: int = Field(default=FAILURE_THRESHOLD, description="Consecutive failures that pause its work.")
    circuit_cooldown_seconds: float = Field(default=COOLDOWN_SECONDS, description="First pause after that.")

    @property
    def poll_policy(self) -> PollPolicy:
        return PollPolicy(first_seconds=self.poll_first_seconds, backoff=self.poll_backoff,
                          cap_seconds=self.poll_after_seconds)


class LocalParser(ParserResource):
    """Offline parsing with pypdfium2, python-docx and the standard library (`parse.parsers.SynchronousParser`),
    each document in a child process held to the memory, CPU and wall-clock limits (`parse.sandbox`)."""

    max_pages: int = Field(default=ExtractionLimits().max_pages, description="Reject documents with more pages than this.")
    max_file_bytes: int = Field(default=ExtractionLimits().max_file_bytes, description="Reject larger files.")
    max_seconds: float = Field(default=SandboxLimits().wall_seconds,
                               description="Seconds one document's extraction may take, wall clock (INGEST_MAX_PARSE_SECONDS).")
    memory_mb: int = Field(default=SandboxLimits().memory_mb,
                           description="Megabytes of memory one document's extraction may add (INGEST_PARSE_MEMORY_MB).")
    cpu_seconds: int = Field(default=SandboxLimits().cpu_seconds,
                             description="Seconds of CPU time one document's extraction may use (INGEST_PARSE_CPU_SECONDS).")

    @property
    def fingerprint(self) -> str:
        return f"local-v{LOCAL_PARSER_VERSION}-pages{self.max_pages}"

    def parse(self, path: Path, media_type: str) -> Iterator[Page]:
        limits = ExtractionLimits(max_pages=self.max_pages, max_file_bytes=self.max_file_bytes,
                                  max_seconds=self.max_seconds)
        if not SANDBOXED:
            _warn_unsandboxed()
            return extract_pages(path, media_type, limits)
        return sandboxed_pages(path, media_type, limits,
                               SandboxLimits(memory_mb=self.memory_mb, cpu_seconds=self.cpu_seconds,
                                             wall_seconds=self.max_seconds))


_warned: list[bool] = []


def _warn_unsandboxed() -> None:
    if not _warned:
        _warned.append(True)
        logging.getLogger(__name__).warning(
            "Local parsing runs without its memory and CPU-time limits on this platform (only Linux enforces "
            "them; macOS ignores RLIMIT_AS): only the page, size and between-pages time limits hold.")
