"""The LlamaParse path end to end with the real llama-cloud client: submit, signed webhook, sensor, fetch, embed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from fpdf import FPDF

from ingest_pipeline.domain.statuses import DocumentStatus, Stage
from ingest_pipeline.orchestration.sensors import FETCH_SELECTION, RESUBMIT_SELECTION
from ingest_pipeline.parse.webhooks import SIGNATURE_HEADER, sign
from ingest_pipeline.service.lifecycle import redrive
from ingest_pipeline.store import documents
from ingest_pipeline_tests.llamaparse_stack import (
    KEY,
    SECRET,
    count,
    llamaparse_stack,
    run_requested,
    tick,
    wait_until,
)
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write


def _pdf(*pages: str) -> bytes:
    pdf = FPDF()
    for line in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(w=0, text=line)
    return bytes(pdf.output())


def _doc(app, doc_id):
    with app.engine.connect() as conn:
        return documents.get(conn, doc_id)


def _events(app) -> int:
    return count(app, "SELECT count(*) FROM webhook_events")


def _submit(stack, instance, tmp_path, files: dict) -> list[str]:
    ids = [register(stack.app, write(tmp_path, name, body)) for name, body in files.items()]
    materialize(stack.app, instance, ids)
    return ids


def _complete(stack, instance) -> list:
    """One sensor tick and the runs it asks for."""
    return run_requested(stack.app, instance, tick(stack.app, instance))


def test_a_webhook_turns_into_one_run_that_takes_documents_to_embedded(environment, instance, tmp_path):
    with llamaparse_stack(environment) as stack:
        ids = _submit(stack, instance, tmp_path, {
            "kelp.md": "# Kelp\n\n" + paragraph("kelp forest", 20),
            "birds.pdf": _pdf(paragraph("grey heron", 8), paragraph("little egret", 8)),
            "tide.txt": paragraph("spring tide", 20)})
        assert {_doc(stack.app, i).status for i in ids} == {DocumentStatus.SUBMITTED}
        wait_until(lambda: _events(stack.app) == 3, what="three signed webhooks")
        result = tick(stack.app, instance)
        assert len(result.run_requests) == 1 and result.run_requests[0].asset_selection == FETCH_SELECTION
        runs = run_requested(stack.app, instance, result)
        assert all(run.success for run in runs)
        assert {_doc(stack.app, i).status for i in ids} == {DocumentStatus.EMBEDDED}
        pdf = _doc(stack.app, ids[1])
        assert pdf.pages == 2 and pdf.page_errors == {}
        assert stack.app.search("little egret", 1)[0].document_id == ids[1]
        again = tick(stack.app, instance)
        assert not again.run_requests and "0 document(s) to fetch" in again.skip_reason.skip_message
        assert count(stack.app, "SELECT count(*) FROM webhook_events WHERE consumed_at IS NULL") == 0


def test_identical_bytes_are_submitted_once(environment, instance, tmp_path):
    body = paragraph("salt marsh", 20)
    with llamaparse_stack(environment) as stack:
        ids = _submit(stack, instance, tmp_path, {"a/marsh.txt": body, "b/marsh-copy.txt": body})
        assert _doc(stack.app, ids[0]).parse_job_id == _doc(stack.app, ids[1]).parse_job_id
        wait_until(lambda: _events(stack.app) == 1, what="the job's webhook")
        run_requested(stack.app, instance, tick(stack.app, instance))
        statuses = {_doc(stack.app, i).status for i in ids}
        assert statuses == {DocumentStatus.EMBEDDED, DocumentStatus.DUPLICATE}
        third = register(stack.app, write(tmp_path, "c/marsh-again.txt", body))
        materialize(stack.app, instance, [third])
        assert stack.simulator.stats.snapshot()["jobs_created"] == 1
        assert _doc(stack.app, third).status is DocumentStatus.DUPLICATE


@pytest.mark.parametrize("fault, status", [("probability_failed", "failed"), ("probability_cancelled", "cancelled")])
def test_an_error_or_cancelled_job_fails_its_document_with_the_reason_and_a_redrive_submits_again(
        environment, instance, tmp_path, fault, status):
    with llamaparse_stack(environment) as stack:
        stack.simulator.faults.update({fault: 1.0})
        (doc_id,) = _submit(stack, instance, tmp_path, {"reef.txt": paragraph("coral reef", 20)})
        wait_until(lambda: _events(stack.app) == 1, what="the job's webhook")
        _complete(stack, instance)
        doc = _doc(stack.app, doc_id)
        assert doc.status is DocumentStatus.FAILED and doc.failed_stage == Stage.PARSE_JOB
        assert f"job {doc.parse_job_id} {status}" in doc.reason
        stack.simulator.faults.update({fault: 0.0})
        redrive(stack.app, [doc_id])
        materialize(stack.app, instance, [doc_id])
        assert _doc(stack.app, doc_id).parse_job_id != doc.parse_job_id
        wait_until(lambda: _events(stack.app) == 2, what="the second job's webhook")
        _complete(stack, instance)
        assert _doc(stack.app, doc_id).status is DocumentStatus.EMBEDDED


def test_partial_success_keeps_the_good_pages_and_records_the_failed_ones(environment, instance, tmp_path):
    with llamaparse_stack(environment) as stack:
        stack.simulator.faults.update({"probability_partial": 1.0})
        (doc_id,) = _submit(stack, instance, tmp_path, {
            "birds.pdf": _pdf(paragraph("grey heron", 10), paragraph("little egret", 10))})
        wait_until(lambda: _events(stack.app) == 1, what="the job's webhook")
        _complete(stack, instance)
        doc = _doc(stack.app, doc_id)
        assert doc.status is DocumentStatus.EMBEDDED and doc.pages == 1
        assert list(doc.page_errors) == ["2"] and doc.page_errors["2"]


def test_with_every_webhook_dropped_polling_still_finishes_every_document(environment, instance, tmp_path):
    with llamaparse_stack(environment, INGEST_PARSE_POLL_AFTER="0") as stack:
        stack.simulator.faults.update({"probability_webhook_drop": 1.0})
        ids = _submit(stack, instance, tmp_path, {f"{i}.txt": paragraph(f"dune {i}", 20) for i in range(3)})
        wait_until(lambda: stack.simulator.stats.snapshot().get("webhooks_dropped", 0) == 3, what="three jobs")
        runs = _complete(stack, instance)
        assert len(runs) == 1 and _events(stack.app) == 0
        assert {_doc(stack.app, i).status for i in ids} == {DocumentStatus.EMBEDDED}


def test_duplicated_stale_late_and_unknown_webhooks_change_nothing(environment, instance, tmp_path):
    with llamaparse_stack(environment) as stack:
        stack.simulator.faults.update({"probability_webhook_duplicate": 1.0, "probability_webhook_out_of_order": 1.0})
        (doc_id,) = _submit(stack, instance, tmp_path, {"fjord.txt": paragraph("fjord", 20)})
        wait_until(lambda: stack.simulator.stats.snapshot().get("webhooks_stale", 0) == 1, what="the stale webhook")
        assert len(_complete(stack, instance)) == 1
        job_id = _doc(stack.app, doc_id).parse_job_id
        _post_signed(stack, {"event_id": str(uuid.uuid4()), "event_type": "parse.error", "data": {"job_id": job_id}})
        _post_signed(stack, {"event_id": str(uuid.uuid4()), "event_type": "parse.success", "data": {"job_id": "nobody"}})
        late = tick(stack.app, instance)
        assert not late.run_requests
        assert _doc(stack.app, doc_id).status is DocumentStatus.EMBEDDED
        with stack.app.engine.connect() as conn:
            outcomes = dict(conn.exec_driver_sql("SELECT outcome, count(*) FROM webhook_events GROUP BY outcome").all())
        assert outcomes == {"job COMPLETED": 1, "ignored: the job had already finished": 2,
                                  "ignored: no such job here": 1}


def test_a_job_that_never_finishes_is_submitted_again_then_failed_after_the_limit(environment, instance, tmp_path):
    with llamaparse_stack(environment, INGEST_PARSE_STUCK_AFTER="0", INGEST_PARSE_MAX_SUBMISSIONS="2",
                          INGEST_PARSE_POLL_AFTER="3600") as stack:
        stack.simulator.faults.update({"probability_never_finish": 1.0})
        (doc_id,) = _submit(stack, instance, tmp_path, {"abyss.txt": paragraph("abyssal plain", 20)})
        first_job = _doc(stack.app, doc_id).parse_job_id
        result = tick(stack.app, instance)
        assert [r.asset_selection for r in result.run_requests] == [RESUBMIT_SELECTION]
        run_requested(stack.app, instance, result)
        second = _doc(stack.app, doc_id)
        assert second.status is DocumentStatus.SUBMITTED and second.parse_job_id != first_job
        _complete(stack, instance)
        failed = _doc(stack.app, doc_id)
        assert failed.status is DocumentStatus.FAILED and "2 submissions" in failed.reason
        cancelled = stack.simulator.stats.snapshot().get("jobs_cancelled", 0)
        assert cancelled == 2  # abandoned jobs are cancelled, so nobody pays for them


def _post_signed(stack, event: dict) -> None:
    body = json.dumps(event).encode()
    url = stack.app.settings.public_url + "/webhooks/llamaparse"
    response = httpx.post(url, content=body, headers={SIGNATURE_HEADER: sign(SECRET, body),
                                                      "content-type": "application/json"})
    assert response.status_code == 202


def test_the_ingest_command_waits_for_its_parse_jobs_and_finishes_them(environment, tmp_path):
    with llamaparse_stack(environment) as stack:
        stack.simulator.faults.update({"probability_webhook_drop": 1.0})
        folder = tmp_path / "corpus"
        write(folder, "otters.md", "# Otters\n\n" + paragraph("sea otter raft", 30))
        write(folder, "notes.txt", paragraph("alpine meadow", 30))
        parser_env = {"INGEST_PARSER": "llamaparse", "LLAMA_CLOUD_API_KEY": KEY, "INGEST_LLAMAPARSE_TIER": "fast",
                      "LLAMA_CLOUD_BASE_URL": stack.app.settings.llama_cloud_base_url}
        result = subprocess.run([sys.executable, "-m", "ingest_pipeline.cli.main", "ingest", str(folder), "--json"],
                                env={**os.environ, **environment, **parser_env}, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert [row["status"] for row in rows] == ["embedded", "embedded"]
        assert stack.simulator.stats.snapshot()["jobs_created"] == 2


def test_request_and_webhook_faults_at_a_rate_still_embed_every_document_once(environment, instance, tmp_path):
    with llamaparse_stack(environment, INGEST_PARSE_POLL_AFTER="1") as stack:
        stack.simulator.faults.update({
            "seed": 7, "probability_429": 0.2, "probability_500": 0.2, "retry_after_seconds": 0.05,
            "probability_webhook_unsigned": 0.3, "probability_webhook_delay": 0.3, "webhook_delay_seconds": 0.5,
            "probability_webhook_duplicate": 0.3, "probability_webhook_out_of_order": 0.3})
        ids = _submit(stack, instance, tmp_path, {f"{i}.txt": paragraph(f"archipelago {i}", 20) for i in range(8)})
        for _ in range(20):
            if {_doc(stack.app, i).status for i in ids} == {DocumentStatus.EMBEDDED}:
                break
            _complete(stack, instance)
            time.sleep(0.5)
        assert {_doc(stack.app, i).status for i in ids} == {DocumentStatus.EMBEDDED}
        stats = stack.simulator.stats.snapshot()
        assert stats["jobs_created"] == 8 and stats.get("injected_429", 0) + stats.get("injected_500", 0) > 0
        chunks = count(stack.app, "SELECT count(*) FROM chunks")
        assert chunks == count(stack.app, "SELECT sum(chunk_count) FROM documents") == \
            count(stack.app, "SELECT count(*) FROM chunk_embeddings")
        assert count(stack.app, "SELECT count(*) FROM parse_jobs") == 8


def test_llamaparse_failing_every_request_pauses_submissions_and_they_resume(environment, instance, tmp_path):
    with llamaparse_stack(environment, INGEST_CIRCUIT_FAILURES="2", INGEST_CIRCUIT_COOLDOWN="2") as stack:
        stack.simulator.faults.update({"probability_500": 1.0})
        ids = _submit(stack, instance, tmp_path, {f"{i}.txt": paragraph(f"moraine {i}", 20) for i in range(2)})
        paused = [_doc(stack.app, i) for i in ids]
        assert {(d.status, d.paused_for) for d in paused} == {(DocumentStatus.REGISTERED, "llamaparse")}
        assert re.match(r"llamaparse is paused after \d+ consecutive errors \(last: .*500", paused[0].reason)
        stack.simulator.faults.update({"probability_500": 0.0})
        wait_until(lambda: not stack.app.paused_providers(), timeout=30, what="the pause to end")
        with stack.app.engine.connect() as conn:
            cursor = str(documents.latest_intake_seq(conn) - 2)  # only the resumed documents are new
        run_requested(stack.app, instance, tick(stack.app, instance, "uploads_sensor", cursor))
        assert {_doc(stack.app, i).status for i in ids} == {DocumentStatus.SUBMITTED}
        wait_until(lambda: _events(stack.app) == 2, what="the jobs' webhooks")
        _complete(stack, instance)
        assert {_doc(stack.app, i).status for i in ids} == {DocumentStatus.EMBEDDED}
