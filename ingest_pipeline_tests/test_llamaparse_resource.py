"""The LlamaParse resource through the real llama-cloud client against the simulator: submit, signed webhook, result."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn
from fpdf import FPDF
from sqlalchemy import text

from ingest_pipeline.api.app import create_app
from ingest_pipeline.domain.parse_job_status import COMPLETED, FAILED
from ingest_pipeline.parse.llamaparse import LlamaParseResource
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.simulators.llamaparse_api import ParseSimulatorConfig, running_llamaparse_simulator
from ingest_pipeline_tests.pipeline_runs import paragraph, write

KEY = "llx-test"


@pytest.fixture
def simulator():
    config = ParseSimulatorConfig(api_key=KEY, job_delay_seconds=0.05, webhook_backoff_seconds=(0.05, 0.05))
    with running_llamaparse_simulator(config) as base_url:
        yield config, base_url


def _wait(resource, job_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not (result := resource.result(job_id)).finished:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)
    return result


def test_submit_then_fetch_pages_with_their_numbers(simulator, tmp_path):
    _, base_url = simulator
    resource = LlamaParseResource(api_key=KEY, base_url=base_url, tier="fast")
    job = resource.submit(write(tmp_path, "notes.md", "# Kelp\n\n" + paragraph("kelp forest")), "notes.md")
    assert job.tier == "fast" and job.job_id
    result = _wait(resource, job.job_id)
    assert result.status == COMPLETED and result.pages[0].number == 1
    assert "kelp forest" in result.pages[0].text and not result.failed_pages


def test_a_failed_job_carries_the_parsers_reason(simulator, tmp_path):
    _, base_url = simulator
    resource = LlamaParseResource(api_key=KEY, base_url=base_url)
    job = resource.submit(write(tmp_path, "scan.png", b"\x89PNG\r\n\x1a\n" + bytes(64)), "scan.png")
    result = _wait(resource, job.job_id)
    assert result.status == FAILED and "png" in result.error.lower() and not result.pages


def test_partial_success_keeps_good_pages_and_names_the_failed_ones(simulator, tmp_path):
    config, base_url = simulator
    config.faults.update({"probability_partial": 1.0})
    resource = LlamaParseResource(api_key=KEY, base_url=base_url)
    pdf = FPDF()
    for line in ("first page about herons", "second page about egrets"):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.cell(text=line)
    job = resource.submit(write(tmp_path, "birds.pdf", bytes(pdf.output())), "birds.pdf")
    result = _wait(resource, job.job_id)
    assert result.status == COMPLETED and [p.number for p in result.pages] == [1]
    assert list(result.failed_pages) == [2] and result.failed_pages[2]


def test_webhooks_reach_the_ingest_api_signed_and_are_recorded(simulator, environment, engine, tmp_path):
    _, base_url = simulator
    app = Application(Settings.from_env({**environment, "INGEST_WEBHOOK_SECRET": "whsec-e2e"}))
    server = uvicorn.Server(uvicorn.Config(create_app(app), log_level="warning", lifespan="off"))
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    public = f"http://127.0.0.1:{listener.getsockname()[1]}"
    resource = LlamaParseResource(api_key=KEY, base_url=base_url, public_url=public, webhook_secret="whsec-e2e")
    job = resource.submit(write(tmp_path, "a.txt", paragraph("estuary")), "a.txt")
    deadline = time.monotonic() + 10
    rows = []
    while not rows and time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT event_type, job_id FROM webhook_events")).all()
        time.sleep(0.05)
    server.should_exit = True
    assert rows == [("parse.success", job.job_id)]
