"""Run the LlamaParse v2 simulator: its ASGI app, a foreground server, and a background one for tests."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ingest_pipeline.simulators.background_server import serving_in_background
from ingest_pipeline.simulators.control_routes import add_control_routes
from ingest_pipeline.simulators.llamaparse_faults import ParseFaultConfig, ParseFaultInjector
from ingest_pipeline.simulators.llamaparse_jobs import JobDurations, JobRunner, ParseJob, new_id
from ingest_pipeline.simulators.llamaparse_stats import ParseStats
from ingest_pipeline.simulators.llamaparse_webhooks import DeliverySettings, WebhookSender

__all__ = ["ParseFaultConfig", "ParseSimulatorConfig", "create_app", "running_llamaparse_simulator", "serve"]


@dataclass
class ParseSimulatorConfig:
    """Start-up settings; `faults` and `stats` stay live objects the caller can read and change while it runs."""

    api_key: str | None = None
    project_id: str = "sim-project"
    job_delay_seconds: float = 0.3
    # A job's whole duration, drawn uniformly from (low, high) (seeded by `faults.seed`); None: twice the delay.
    job_seconds: tuple[float, float] | None = None
    webhook_secret: str | None = None
    webhook_backoff_seconds: tuple[float, ...] = (1.0, 2.0)
    webhook_timeout_seconds: float = 30.0
    faults: ParseFaultConfig = field(default_factory=ParseFaultConfig)
    stats: ParseStats = field(default_factory=ParseStats)


# Jobs per page of GET /api/v2/parse when none is asked for, and the most it gives (the real limits are not documented).
LIST_PAGE_DEFAULT, LIST_PAGE_LIMIT = 50, 100


def _file_part(form):
    """The uploaded `file` part, or None when it is missing or is a plain form field."""
    upload = form.get("file")
    return None if upload is None or isinstance(upload, str) else upload


def _error(status: int, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def create_app(config: ParseSimulatorConfig | None = None, stop: threading.Event | None = None) -> FastAPI:
    """The simulator as an ASGI app: the v2 parse routes and v1 file upload, plus /_faults, /_stats and /_jobs.

    Setting `stop` ends the job and webhook threads' waits (the background server sets it on exit).
    """
    config = ParseSimulatorConfig() if config is None else config
    app = FastAPI(title="LlamaParse v2 simulator", docs_url=None, redoc_url=None, openapi_url=None)
    injector = ParseFaultInjector(config.faults)
    delivery = DeliverySettings(config.webhook_backoff_seconds, config.webhook_timeout_seconds, config.webhook_secret)
    sender = WebhookSender(delivery, config.stats, stop or threading.Event())
    runner = JobRunner(config.stats, sender, JobDurations(config.job_delay_seconds, config.job_seconds, config.faults.seed))
    files: dict[str, tuple[str, bytes]] = {}

    @app.middleware("http")
    async def auth_and_faults(request: Request, call_next):
        if not request.url.path.startswith("/api/"):
            return await call_next(request)
        if config.api_key is not None and request.headers.get("authorization") != f"Bearer {config.api_key}":
            config.stats.count("unauthorized")
            return _error(401, "Invalid API key.")
        status = injector.draw_request()
        if status == 429:
            config.stats.count("injected_429")
            seconds = config.faults.retry_after_seconds
            return _error(429, "Rate limit exceeded (simulated).", {"retry-after": f"{seconds:g}"})
        if status == 500:
            config.stats.count("injected_500")
            return _error(500, "Internal server error (simulated).")
        return await call_next(request)

    def start_job(name: str, data: bytes, options: dict) -> JSONResponse:
        webhooks = options.get("webhook_configurations") or []
        if not isinstance(webhooks, list) or not all(isinstance(hook, dict) for hook in webhooks):
            return _error(422, "webhook_configurations must be a list of objects.")
        job = ParseJob(
            id=new_id(), name=name, tier=options.get("tier"), data=data, webhooks=webhooks,
            fate=injector.draw_job(), user_metadata=options.get("user_metadata"),
        )
        runner.start(job)
        return JSONResponse(job.summary(config.project_id))

    @app.post("/api/v2/parse/upload")
    async def upload_and_parse(request: Request) -> JSONResponse:
        form = await request.form()
        upload = _file_part(form)
        if upload is None:
            return _error(422, "A multipart 'file' part is required.")
        try:
            options = json.loads(form.get("configuration") or "{}")
        except ValueError as error:
            return _error(422, f"configuration is not JSON: {error}.")
        if not isinstance(options, dict):
            return _error(422, "configuration must be a JSON object.")
        config.stats.count("uploads")
        return start_job(upload.filename or "upload", await upload.read(), options)

    @app.post("/api/v1/beta/files")
    async def create_file(request: Request) -> JSONResponse:
        form = await request.form()
        upload = _file_part(form)
        if upload is None:
            return _error(422, "A multipart 'file' part is required.")
        file_id, name = new_id(), upload.filename or "upload"
        files[file_id] = (name, await upload.read())
        config.stats.count("files")
        return JSONResponse({
            "id": file_id, "name": name, "project_id": config.project_id, "purpose": form.get("purpose"),
            "external_file_id": form.get("external_file_id"), "file_type": name.rpartition(".")[2] or None,
        })

    @app.post("/api/v2/parse")
    async def parse_file(request: Request) -> JSONResponse:
        try:
            options = json.loads(await request.body() or b"{}")
        except ValueError as error:
            return _error(422, f"Body is not JSON: {error}.")
        if not isinstance(options, dict) or options.get("file_id") not in files:
            return _error(404 if isinstance(options, dict) and options.get("file_id") else 422, "Unknown or missing file_id.")
        name, data = files[options["file_id"]]
        return start_job(name, data, options)

    @app.get("/api/v2/parse")
    async def list_jobs_page(request: Request) -> JSONResponse:
        return _list_page(runner, config, request.query_params)

    @app.get("/api/v2/parse/{job_id}")
    async def get_job(job_id: str, request: Request) -> JSONResponse:
        job = runner.jobs.get(job_id)
        if job is None:
            return _error(404, f"Job {job_id} not found.")
        config.stats.count("status_polls")
        expand = request.query_params.getlist("expand")
        if expand:
            job.result_reads += 1
        else:
            job.status_reads += 1
        return JSONResponse(job.result(config.project_id, expand))

    @app.post("/api/v2/parse/{job_id}/cancel")
    async def cancel_job(job_id: str) -> JSONResponse:
        job = runner.jobs.get(job_id)
        if job is None:
            return _error(404, f"Job {job_id} not found.")
        config.stats.count("cancels")
        runner.cancel(job)
        return JSONResponse(job.summary(config.project_id))

    _add_test_routes(app, config, injector, runner)
    return app


def _list_page(runner: JobRunner, config: ParseSimulatorConfig, query) -> JSONResponse:
    """GET /api/v2/parse: the project's jobs, filtered by `job_ids` (repeated) and `status`, newest first, in
    pages of `page_size` (at most LIST_PAGE_LIMIT here) with an opaque `page_token`."""
    try:
        size = min(int(query.get("page_size") or LIST_PAGE_DEFAULT), LIST_PAGE_LIMIT)
        offset = int(query.get("page_token") or 0)
    except ValueError:
        return _error(422, "page_size and page_token must be integers.")
    if size < 1 or offset < 0:
        return _error(422, "page_size must be at least 1 and page_token a token from a previous page.")
    wanted, status = set(query.getlist("job_ids")), query.get("status")
    jobs = [job for job in reversed(list(runner.jobs.values()))
            if (not wanted or job.id in wanted) and (status is None or job.status == status)]
    page = jobs[offset:offset + size]
    config.stats.count("status_lists")
    config.stats.count("jobs_listed", len(page))
    for job in page:
        job.listed += 1
    more = offset + size < len(jobs)
    return JSONResponse({"items": [job.summary(config.project_id) for job in page],
                         "next_page_token": str(offset + size) if more else None, "total_size": len(jobs)})


def _add_test_routes(app: FastAPI, config: ParseSimulatorConfig, injector: ParseFaultInjector, runner: JobRunner) -> None:
    """The shared control routes (/_faults, /_stats), and GET /_jobs."""
    add_control_routes(app, config.faults, config.stats, injector.reseed)

    @app.get("/_jobs")
    async def list_jobs() -> list:
        return [
            {"id": job.id, "name": job.name, "status": job.status, "error_message": job.error_message,
             "fate": job.fate.outcome, "webhook_dropped": job.fate.webhook_drop, "finished_at": job.finished_at,
             "status_reads": job.status_reads, "result_reads": job.result_reads, "listed": job.listed}
            for job in list(runner.jobs.values())
        ]


def serve(host: str, port: int, config: ParseSimulatorConfig | None = None) -> None:
    """Run the simulator in the foreground until interrupted."""
    uvicorn.run(create_app(config), host=host, port=port, lifespan="off")


@contextmanager
def running_llamaparse_simulator(config: ParseSimulatorConfig | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve from a background thread on a free port; yields the base URL (host root, as the SDK's base_url wants)."""
    stop = threading.Event()
    with serving_in_background(create_app(config, stop), "/_stats", host, name="llamaparse-simulator",
                               on_exit=stop.set) as root_url:
        yield root_url
