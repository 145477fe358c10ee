"""Simulated parse jobs: real local parsing of the uploaded bytes on a worker thread, PENDING to a terminal status."""

from __future__ import annotations

import random
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePath

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.parse_job_status import CANCELLED, COMPLETED, FAILED, PENDING, RUNNING, TERMINAL
from ingest_pipeline.parse.extraction import extract_pages, sniff_file
from ingest_pipeline.simulators.llamaparse_faults import JobFate
from ingest_pipeline.simulators.llamaparse_stats import ParseStats
from ingest_pipeline.simulators.llamaparse_webhooks import WebhookSender

PARTIAL_PAGE_ERROR = "Simulated page failure (partial_success fault)."
_STATUS_OF_OUTCOME = {"completed": COMPLETED, "partial": COMPLETED, "failed": FAILED, "cancelled": CANCELLED}


@dataclass
class ParseJob:
    id: str
    name: str
    tier: str | None
    data: bytes
    webhooks: list[dict]
    fate: JobFate
    user_metadata: dict | None = None
    status: str = PENDING
    error_message: str | None = None
    # (page_number, text, error): error is None for a page that parsed.
    pages: list[tuple[int, str, str | None]] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: _now())
    updated_at: str = field(default_factory=lambda: _now())
    running_since: float = 0.0
    finished_at: float | None = None
    # Requests about this job: status reads (GET without content), result reads, and places in list answers.
    status_reads: int = 0
    result_reads: int = 0
    listed: int = 0

    def summary(self, project_id: str) -> dict:
        """The flat job object of create/cancel responses, and the `job` of a GET."""
        return {
            "id": self.id, "project_id": project_id, "status": self.status, "created_at": self.created_at,
            "updated_at": self.updated_at, "error_message": self.error_message, "name": self.name,
            "tier": self.tier, "user_metadata": self.user_metadata,
        }

    def result(self, project_id: str, expand: list[str]) -> dict:
        """GET /api/v2/parse/{id}: the job, plus the expanded content once it has COMPLETED."""
        body: dict = {"job": self.summary(project_id)}
        if self.status != COMPLETED:
            return body
        parsed = [(number, text) for number, text, error in self.pages if error is None]
        if "markdown" in expand:
            body["markdown"] = {"pages": [
                {"page_number": number, "markdown": text, "success": True} if error is None
                else {"page_number": number, "error": error, "success": False}
                for number, text, error in self.pages
            ]}
        if "markdown_full" in expand:
            body["markdown_full"] = "\n\n".join(text for _, text in parsed)
        if "text" in expand:
            body["text"] = {"pages": [{"page_number": number, "text": text} for number, text in parsed]}
        if "text_full" in expand:
            body["text_full"] = "\n\n".join(text for _, text in parsed)
        return body


@dataclass(frozen=True)
class JobDurations:
    """How long a job takes from creation to its end: `delay_seconds` in PENDING then as long in RUNNING, or, when
    `seconds` is set, a duration drawn uniformly from that (low, high) range (low == high: fixed), a fifth of it
    PENDING. Draws are reproducible with `seed`."""

    delay_seconds: float = 0.3
    seconds: tuple[float, float] | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.delay_seconds < 0 or (self.seconds and not 0 <= self.seconds[0] <= self.seconds[1]):
            raise ValueError(f"job durations must be >= 0 and a range low-high with low <= high, got "
                             f"delay {self.delay_seconds:g}, seconds {self.seconds}")


class JobRunner:
    """Holds the jobs and runs each on its own daemon thread, PENDING then RUNNING for as long as `durations` say."""

    def __init__(self, stats: ParseStats, sender: WebhookSender, durations: JobDurations):
        self.stats = stats
        self.sender = sender
        self.durations = durations
        self.jobs: dict[str, ParseJob] = {}
        self._lock = threading.Lock()
        self._random = random.Random(durations.seed)

    def phases(self) -> tuple[float, float]:
        """Seconds the next job spends PENDING, then RUNNING (its parsing included)."""
        if self.durations.seconds is None:
            return self.durations.delay_seconds, self.durations.delay_seconds
        with self._lock:
            total = self._random.uniform(*self.durations.seconds)
        return total / 5, total * 4 / 5

    def start(self, job: ParseJob) -> None:
        with self._lock:
            self.jobs[job.id] = job
        self.stats.count("jobs_created")
        threading.Thread(target=self._run, args=(job,), name=f"llamaparse-job-{job.id}", daemon=True).start()

    def cancel(self, job: ParseJob) -> None:
        """Cancel a job that has not finished; a finished job is left as it is."""
        self._finish(job, "cancelled", None)

    def _run(self, job: ParseJob) -> None:
        pending, running = self.phases()
        if self.sender.stop.wait(pending):
            return
        with self._lock:
            if job.status != PENDING:
                return
            job.status, job.updated_at, job.running_since = RUNNING, _now(), time.time()
        if job.fate.outcome == "never":
            return
        pages, reason = _parse(job.name, job.data)
        rest = running if self.durations.seconds is None else running - (time.time() - job.running_since)
        if self.sender.stop.wait(max(0.0, rest)):
            return
        if reason is not None:
            self._finish(job, "failed", reason)
        elif job.fate.outcome == "partial":
            # The last page fails (the only one, for a one-page document).
            *kept, (number, _, _) = pages
            job.pages = [*kept, (number, "", PARTIAL_PAGE_ERROR)]
            self._finish(job, "partial", None)
        elif job.fate.outcome == "failed":
            self._finish(job, "failed", "Simulated parse failure (failed fault).")
        else:
            job.pages = pages
            self._finish(job, job.fate.outcome, None)

    def _finish(self, job: ParseJob, outcome: str, error_message: str | None) -> None:
        with self._lock:
            if job.status in TERMINAL:
                return
            job.status, job.error_message, job.updated_at = _STATUS_OF_OUTCOME[outcome], error_message, _now()
            job.finished_at = time.time()
        self.stats.count(f"jobs_{job.status.lower()}")
        self.sender.announce(job.id, outcome, job.webhooks, job.fate, job.running_since or time.time())


def new_id() -> str:
    return str(uuid.uuid4())


def _parse(name: str, data: bytes) -> tuple[list[tuple[int, str, str | None]], str | None]:
    """The pages the project's local parser reads from the bytes, or the parser's reason for refusing them."""
    suffix = PurePath(name).suffix if len(PurePath(name).suffix) <= 16 else ""
    with tempfile.TemporaryDirectory(prefix="llamaparse-sim-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            media_type = sniff_file(path, name)
            pages = [(page.number, page.text, None) for page in extract_pages(path, media_type)]
        except DocumentRejected as error:
            return [], str(error)
    if not pages:
        return [], "The document has no pages."
    return pages, None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
