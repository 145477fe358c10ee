"""The LlamaParse v2 simulator speaks the real `llama_cloud` client's protocol: real parsing, signed webhooks, and faults."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import fpdf
import httpx
import llama_cloud
import pytest
from llama_cloud import LlamaCloud

from ingest_pipeline.simulators.llamaparse_api import ParseSimulatorConfig, running_llamaparse_simulator
from ingest_pipeline.simulators.llamaparse_faults import ParseFaultConfig
from ingest_pipeline_tests.webhook_receiver import Receiver

KEY = "sim-key"
SECRET = "whsec-test"
EVENTS = ["parse.success", "parse.error", "parse.partial_success", "parse.cancelled"]
MARKDOWN = b"# Quarterly report\n\nRevenue grew by twelve percent in the third quarter.\n"


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def simulator():
    config = ParseSimulatorConfig(api_key=KEY, job_delay_seconds=0.05, webhook_backoff_seconds=(0.05, 0.05))
    with running_llamaparse_simulator(config) as base_url:
        yield config, base_url, LlamaCloud(api_key=KEY, base_url=base_url, max_retries=0)


def hook(receiver: Receiver, output_format: str = "json", secret: str | None = SECRET) -> list[dict]:
    configuration = {"webhook_url": receiver.url, "webhook_events": EVENTS, "webhook_output_format": output_format}
    if secret:
        configuration["webhook_signing_secret"] = secret
    return [configuration]


def event_of(body: bytes) -> dict:
    event = json.loads(body)
    return json.loads(event) if isinstance(event, str) else event


def signed(headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("LC-Signature", ""))


def submit(client: LlamaCloud, receiver: Receiver, name: str = "report.md", data: bytes = MARKDOWN, **hook_options):
    return client.parsing.create(
        tier="fast", version="latest", upload_file=(name, data), webhook_configurations=hook(receiver, **hook_options)
    )


def test_markdown_upload_completes_and_the_signed_webhook_points_at_the_result(simulator, receiver):
    config, _, client = simulator
    job = submit(client, receiver)
    assert job.status == "PENDING" and job.tier == "fast"
    (headers, body), = receiver.wait_for(1)
    event = json.loads(body)
    assert event["event_type"] == "parse.success" and event["data"] == {"id": job.id, "job_id": job.id}
    assert headers["Content-Type"] == "application/json" and headers["User-Agent"] == "llamaindex-webhook-service/1.0"
    assert headers["X-Webhook-Event-ID"] == event["event_id"] and headers["X-Webhook-Event-Type"] == "parse.success"
    assert signed(headers, body)
    result = client.parsing.get(job.id, expand=["markdown", "text"])
    assert result.job.status == "COMPLETED"
    (page,) = result.markdown.pages
    assert page.success and page.page_number == 1 and "Revenue grew by twelve percent" in page.markdown
    assert result.text.pages[0].page_number == 1 and "Revenue grew" in result.text.pages[0].text
    assert client.parsing.get(job.id).markdown is None
    assert config.stats.snapshot()["webhooks_delivered"] == 1 and config.stats.snapshot()["uploads"] == 1


def test_pdf_through_files_api_gives_numbered_pages_and_a_string_webhook(simulator, receiver):
    _, _, client = simulator
    pdf = fpdf.FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in ("First page about turbines.", "Second page about gearboxes."):
        pdf.add_page()
        pdf.cell(0, 10, text)
    uploaded = client.files.create(file=("machines.pdf", bytes(pdf.output())), purpose="parse")
    job = client.parsing.create(file_id=uploaded.id, tier="fast", version="latest",
                                webhook_configurations=hook(receiver, output_format="string"))
    (headers, body), = receiver.wait_for(1)
    assert isinstance(json.loads(body), str) and event_of(body)["data"]["job_id"] == job.id and signed(headers, body)
    pages = client.parsing.get(job.id, expand=["markdown", "text"]).markdown.pages
    assert [(page.page_number, page.success) for page in pages] == [(1, True), (2, True)]
    assert "turbines" in pages[0].markdown and "gearboxes" in pages[1].markdown


def test_png_upload_fails_with_the_parser_reason(simulator, receiver):
    _, _, client = simulator
    job = submit(client, receiver, name="scan.png", data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (_, body), = receiver.wait_for(1)
    assert event_of(body)["event_type"] == "parse.error"
    result = client.parsing.get(job.id, expand=["markdown"])
    assert result.job.status == "FAILED" and "png" in result.job.error_message.lower() and result.markdown is None


def test_unsigned_and_duplicated_webhooks(simulator, receiver):
    config, base_url, client = simulator
    httpx.post(f"{base_url}/_faults", json={"probability_webhook_unsigned": 1.0, "probability_webhook_duplicate": 1.0})
    submit(client, receiver)
    (first_headers, first), (_, second) = receiver.wait_for(2)
    assert first == second and "LC-Signature" not in first_headers
    time.sleep(0.2)
    assert len(receiver.calls) == 2 and config.stats.snapshot()["webhooks_delivered"] == 2


def test_dropped_webhooks_never_arrive_but_the_job_completes(simulator, receiver):
    config, base_url, client = simulator
    assert httpx.post(f"{base_url}/_faults", json={"probability_webhook_drop": 1.0}).json()["probability_webhook_drop"] == 1.0
    job = submit(client, receiver)
    deadline = time.monotonic() + 3
    while client.parsing.get(job.id).job.status != "COMPLETED" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert receiver.calls == [] and config.stats.snapshot()["webhooks_dropped"] == 1
    assert httpx.get(f"{base_url}/_jobs").json()[0]["status"] == "COMPLETED"


def test_out_of_order_delivers_a_stale_event_after_the_terminal_one(simulator, receiver):
    _, base_url, client = simulator
    httpx.post(f"{base_url}/_faults", json={"probability_webhook_out_of_order": 1.0})
    submit(client, receiver)
    (_, fresh), (stale_headers, stale) = receiver.wait_for(2)
    fresh, stale = event_of(fresh), event_of(stale)
    assert stale["timestamp"] < fresh["timestamp"] and stale["event_id"] != fresh["event_id"]
    assert stale["data"] == fresh["data"] and signed(stale_headers, receiver.calls[1][1])


def test_partial_success_marks_a_page_failed(simulator, receiver):
    _, base_url, client = simulator
    httpx.post(f"{base_url}/_faults", json={"probability_partial": 1.0})
    job = submit(client, receiver)
    (_, body), = receiver.wait_for(1)
    assert event_of(body)["event_type"] == "parse.partial_success"
    result = client.parsing.get(job.id, expand=["markdown", "text"])
    assert result.job.status == "COMPLETED"
    assert [(page.success, page.error) for page in result.markdown.pages] == [(False, result.markdown.pages[0].error)]
    assert result.markdown.pages[0].error and result.text.pages == []


def test_never_finishing_job_stays_running_until_cancelled(simulator, receiver):
    _, base_url, client = simulator
    httpx.post(f"{base_url}/_faults", json={"probability_never_finish": 1.0})
    job = submit(client, receiver)
    time.sleep(0.3)
    assert client.parsing.get(job.id).job.status == "RUNNING" and receiver.calls == []
    assert client.parsing.cancel(job.id).status == "CANCELLED"
    (_, body), = receiver.wait_for(1)
    assert event_of(body)["event_type"] == "parse.cancelled"


def test_failed_and_cancelled_faults(simulator, receiver):
    _, base_url, client = simulator
    httpx.post(f"{base_url}/_faults", json={"probability_failed": 1.0})
    failed = submit(client, receiver)
    receiver.wait_for(1)
    httpx.post(f"{base_url}/_faults", json={"probability_failed": 0.0, "probability_cancelled": 1.0})
    cancelled = submit(client, receiver)
    receiver.wait_for(2)
    assert client.parsing.get(failed.id).job.status == "FAILED"
    assert client.parsing.get(cancelled.id).job.status == "CANCELLED"
    assert sorted(event_of(body)["event_type"] for _, body in receiver.calls) == ["parse.cancelled", "parse.error"]


def test_webhook_delivery_is_retried_until_it_succeeds():
    receiver = Receiver(fail_first=2)
    config = ParseSimulatorConfig(job_delay_seconds=0.05, webhook_backoff_seconds=(0.05, 0.05), webhook_secret=SECRET)
    with running_llamaparse_simulator(config) as base_url:
        client = LlamaCloud(api_key="any", base_url=base_url, max_retries=0)
        submit(client, receiver, secret=None)
        (headers, body), = receiver.wait_for(1)
        assert signed(headers, body)
        assert config.stats.snapshot()["webhook_attempts"] == 3
    receiver.server.shutdown()
    receiver.server.server_close()


def test_wrong_key_is_401_and_injected_statuses_raise_the_sdk_errors(simulator, receiver):
    config, base_url, client = simulator
    with pytest.raises(llama_cloud.AuthenticationError):
        LlamaCloud(api_key="wrong", base_url=base_url, max_retries=0).parsing.create(
            tier="fast", version="latest", upload_file=("a.md", MARKDOWN))
    httpx.post(f"{base_url}/_faults", json={"probability_429": 1.0, "retry_after_seconds": 2})
    with pytest.raises(llama_cloud.RateLimitError) as limited:
        submit(client, receiver)
    assert limited.value.response.headers["retry-after"] == "2"
    httpx.post(f"{base_url}/_faults", json={"probability_429": 0.0, "probability_500": 1.0})
    with pytest.raises(llama_cloud.InternalServerError):
        client.parsing.get("any-job")
    assert httpx.post(f"{base_url}/_faults", json={"probability_500": 2}).status_code == 400
    stats = config.stats.snapshot()
    assert (stats["unauthorized"], stats["injected_429"], stats["injected_500"], stats.get("jobs_created", 0)) == (1, 1, 1, 0)


def test_seed_replays_the_same_job_fates():
    faults = ParseFaultConfig(probability_failed=0.5, seed=7)
    config = ParseSimulatorConfig(job_delay_seconds=0.01, faults=faults)
    with running_llamaparse_simulator(config) as base_url:
        client = LlamaCloud(api_key="any", base_url=base_url, max_retries=0)

        def fates() -> list[str]:
            for _ in range(6):
                client.parsing.create(tier="fast", version="latest", upload_file=("a.md", MARKDOWN))
            return [job["fate"] for job in httpx.get(f"{base_url}/_jobs").json()[-6:]]

        first = fates()
        httpx.post(f"{base_url}/_faults", json={"seed": 7})
        assert fates() == first and set(first) == {"failed", "completed"}


def test_delayed_webhook_arrives_late(simulator, receiver):
    _, base_url, client = simulator
    httpx.post(f"{base_url}/_faults", json={"probability_webhook_delay": 1.0, "webhook_delay_seconds": 0.5})
    job = submit(client, receiver)
    deadline = time.monotonic() + 3
    while client.parsing.get(job.id).job.status != "COMPLETED" and time.monotonic() < deadline:
        time.sleep(0.02)
    completed_at = time.monotonic()
    receiver.wait_for(1)
    assert time.monotonic() - completed_at >= 0.4
