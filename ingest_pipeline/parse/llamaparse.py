"""The LlamaParse resource: submit a file as an asynchronous parse job with signed webhooks, fetch its pages."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import dagster as dg
from pydantic import Field, PrivateAttr

from ingest_pipeline.domain.errors import ServiceUnavailable
from ingest_pipeline.domain.models import Page
from ingest_pipeline.domain.parse_job_status import COMPLETED, PARSE_EVENTS
from ingest_pipeline.domain.providers import LLAMAPARSE
from ingest_pipeline.parse.parsers import JobNotFound, JobStatus, ParseJob, ParseResult
from ingest_pipeline.parse.resource import AsynchronousParserResource
from ingest_pipeline.parse.webhooks import WEBHOOK_PATH

if TYPE_CHECKING:
    from llama_cloud import LlamaCloud

TIERS = ("fast", "cost_effective", "agentic", "agentic_plus")
DEFAULT_BASE_URL = "https://api.cloud.llamaindex.ai"
# Jobs asked about in one list request (its `page_size`).
LIST_PAGE_SIZE = 100


class LlamaParseResource(AsynchronousParserResource):
    api_key: str = Field(description="LlamaCloud API key (LLAMA_CLOUD_API_KEY).")
    base_url: str = Field(default="", description="API root; empty for LlamaCloud (LLAMA_CLOUD_BASE_URL).")
    tier: str = Field(default="cost_effective", description=f"One of {', '.join(TIERS)}.")
    version: str = Field(default="latest", description="Parser version.")
    public_url: str = Field(default="", description="INGEST_PUBLIC_URL: where LlamaCloud reaches our API.")
    webhook_secret: str = Field(default="", description="INGEST_WEBHOOK_SECRET: signs every webhook.")
    max_retries: int = Field(default=2, description="SDK retries; job creation is not idempotent, keep it low.")
    _client: Any = PrivateAttr(default=None)  # a LlamaCloud client, built on first use

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._client = self._build_client()

    @property
    def circuit(self) -> str:
        return LLAMAPARSE

    @property
    def fingerprint(self) -> str:
        return f"llamaparse-{self.tier}-{self.version}"

    @property
    def client(self) -> LlamaCloud:
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def submit(self, path: Path, file_name: str) -> ParseJob:
        """Start a parse job and return at once; completion arrives as a webhook (or a poll)."""
        with open(path, "rb") as data, _unavailable_as_transient():
            job = self.client.parsing.create(tier=self.tier, version=self.version, upload_file=(file_name, data),
                                             webhook_configurations=self._webhooks())
        return ParseJob(job.id, job.status, self.tier)

    def status(self, job_id: str) -> JobStatus:
        job = self._get(job_id).job
        return JobStatus(job.status, job.error_message)

    def statuses(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """One `GET /api/v2/parse?job_ids=...` per LIST_PAGE_SIZE jobs (the SDK follows `next_page_token`)."""
        found: dict[str, JobStatus] = {}
        for start in range(0, len(job_ids), LIST_PAGE_SIZE):
            batch = list(job_ids[start:start + LIST_PAGE_SIZE])
            with _unavailable_as_transient():
                for job in self.client.parsing.list(job_ids=batch, page_size=len(batch)):
                    found[job.id] = JobStatus(job.status, job.error_message)
        wanted = set(job_ids)
        return {job_id: status for job_id, status in found.items() if job_id in wanted}

    def result(self, job_id: str) -> ParseResult:
        """The job's status, with markdown per page once it is complete (page numbers kept)."""
        response = self._get(job_id, expand=["markdown"])
        job = response.job
        if job.status != COMPLETED or response.markdown is None:
            return ParseResult(job.status, job.error_message)
        pages, failed = [], {}
        for page in response.markdown.pages:
            if getattr(page, "success", True) is False:
                failed[page.page_number] = getattr(page, "error", None) or "the page could not be parsed"
            else:
                pages.append(Page(page.page_number, page.markdown or ""))
        return ParseResult(job.status, job.error_message, pages=pages, failed_pages=failed)

    def cancel(self, job_id: str) -> None:
        """Stop paying for a job we gave up on; a job that already ended or is unknown is fine."""
        try:
            self.client.parsing.cancel(job_id)
        except llama_cloud().NotFoundError:
            pass

    def _get(self, job_id: str, expand: list[str] | None = None):
        try:
            with _unavailable_as_transient():
                return self.client.parsing.get(job_id, expand=expand) if expand else self.client.parsing.get(job_id)
        except llama_cloud().NotFoundError as error:
            raise JobNotFound(f"LlamaParse does not know job {job_id}") from error

    def _webhooks(self) -> list[dict]:
        if not self.public_url:
            return []  # no public URL: completion is found by polling
        return [{"webhook_url": self.public_url.rstrip("/") + WEBHOOK_PATH, "webhook_events": list(PARSE_EVENTS),
                 "webhook_signing_secret": self.webhook_secret, "webhook_output_format": "json"}]

    def _build_client(self) -> LlamaCloud:
        if self.tier not in TIERS:
            raise ValueError(f"LlamaParse tier {self.tier!r} is not one of {', '.join(TIERS)}")
        # base_url is always passed so that an unset variable can never send files to the real cloud.
        return llama_cloud().LlamaCloud(api_key=self.api_key, base_url=self.base_url or DEFAULT_BASE_URL,
                                        max_retries=self.max_retries)


def llama_cloud():
    """The SDK module, imported on first use: only the LlamaParse path needs it, and it takes 0.4 s to load."""
    import llama_cloud as sdk

    return sdk


@contextmanager
def _unavailable_as_transient() -> Iterator[None]:
    sdk = llama_cloud()
    # Left after the client's own retries, these say the service is struggling, not that the file is bad.
    unavailable = (sdk.APIConnectionError, sdk.InternalServerError, sdk.RateLimitError,
                   sdk.APIResponseValidationError, sdk.ConflictError)
    try:
        yield
    except unavailable as error:
        raise ServiceUnavailable(f"LlamaParse is unavailable: {type(error).__name__}: {error}") from error
