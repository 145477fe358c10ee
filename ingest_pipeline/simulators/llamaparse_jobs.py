"""Simulated parse jobs: real local parsing of the uploaded bytes on a worker thread, PENDING to a terminal status."""

from __future__ import annotations

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


class JobRunner:
    """Holds the jobs and runs each on its own daemon thread: `delay_seconds` in PENDING, then as long in RUNNING."""

    def __init__(self, stats: ParseStats, sender: WebhookSender, delay_seconds: float):
        self.stats = stats
        self.sender = sender
        self.delay_seconds = delay_seconds
        self.jobs: dict[str, ParseJob] = {}
        self._lock = threading.Lock()

    def start(self, job: ParseJob) -> None:
        with self._lock:
            self.jobs[job.id] = job
        self.stats.count("jobs_created")
        threading.Thread(target=self._run, args=(job,), name=f"llamaparse-job-{job.id}", daemon=True).start()

    def cancel(self, job: ParseJob) -> None:
        """Cancel a job that has not finished; a finished job is left as it is."""
        self._finish(job, "cancelled", None)

    def _run(self, job: ParseJob) -> None:
        if self.sender.stop.wait(self.delay_seconds):
            return
        with self._lock:
            if job.status != PENDING:
                return
            job.status, job.updated_at, job.running_since = RUNNING, _now(), time.time()
        if job.fate.outcome == "never":
            return
        pages, reason = _parse(job.name, job.data)
        if self.sender.stop.wait(self.delay_seconds):
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
