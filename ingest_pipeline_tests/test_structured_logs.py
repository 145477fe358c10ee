"""Logs of one ingest are JSON lines that follow its document_id from the upload through the API, a sensor and every asset."""

from __future__ import annotations

import os
import time

import httpx
from fastapi.testclient import TestClient

from ingest_pipeline.api.app import create_app
from ingest_pipeline.domain.statuses import STAGES, DocumentStatus, Stage
from ingest_pipeline.logs.format import CORRELATION
from ingest_pipeline.orchestration.sensors import FETCH_SELECTION, SUBMIT_SELECTION
from ingest_pipeline_tests.llamaparse_stack import count, llamaparse_stack, tick, wait_until
from ingest_pipeline_tests.log_lines import about, json_lines, launch_requested
from ingest_pipeline_tests.pipeline_runs import paragraph, write

EVERY_STAGE = {stage.value for stage in STAGES}


def test_one_upload_is_followed_by_its_document_id_through_the_api_the_sensor_and_every_asset(app, instance, capfd):
    with TestClient(create_app(app, instance=instance), base_url="http://localhost") as client:
        upload = client.post("/documents", files={"file": ("soup.md", "# Soup\n\n" + paragraph("red lentil soup"))})
        doc_id = upload.json()["id"]
        assert client.get(f"/documents/{doc_id}").status_code == 200
    result = tick(app, instance, "uploads_sensor")
    [run] = launch_requested(app, instance, result)
    assert run.success and app.documents([doc_id])[0][0].status is DocumentStatus.EMBEDDED

    lines = json_lines(capfd.readouterr().err)
    assert lines and all(set(CORRELATION) <= line.keys() for line in lines)
    trace = about(lines, doc_id)
    posted, read = trace["api"]
    assert (posted["method"], posted["path"], posted["status"], posted["new"]) == ("POST", "/documents", 201, True)
    assert (read["method"], read["path"], read["status"]) == ("GET", f"/documents/{doc_id}", 200)
    [requested] = trace["sensor"]
    assert requested["run_key"] == result.run_requests[0].run_key and requested["run_id"] is None
    assets = trace["asset"]
    assert {line["stage"] for line in assets} == EVERY_STAGE
    assert {line["run_id"] for line in assets} == {run.run_id}
    assert {line["outcome"] for line in assets if line["stage"] == Stage.EMBEDDINGS} == {"done"}


def test_a_parsed_document_carries_its_parse_job_id_from_submission_through_webhook_sensor_and_fetch(
        environment, instance, capfd):
    with llamaparse_stack(environment) as stack:
        api_url = stack.app.settings.public_url
        upload = httpx.post(f"{api_url}/documents", files={"file": ("kelp.md", "# Kelp\n\n" + paragraph("kelp", 20))})
        doc_id = upload.json()["id"]
        submitted = tick(stack.app, instance, "uploads_sensor")
        assert submitted.run_requests[0].asset_selection == SUBMIT_SELECTION
        assert all(run.success for run in launch_requested(stack.app, instance, submitted))
        wait_until(lambda: count(stack.app, "SELECT count(*) FROM webhook_events") == 1, what="the job's webhook")
        fetched = tick(stack.app, instance)
        assert fetched.run_requests[0].asset_selection == FETCH_SELECTION
        assert all(run.success for run in launch_requested(stack.app, instance, fetched))
        job_id = stack.app.documents([doc_id])[0][0].parse_job_id

    lines = json_lines(capfd.readouterr().err)
    [webhook] = [line for line in lines if line.get("path") == "/webhooks/llamaparse"]
    assert (webhook["parse_job_id"], webhook["status"]) == (job_id, 202)
    trace = about(lines, doc_id)
    assert trace["api"][0]["path"] == "/documents"
    assert [line["parse_job_id"] for line in trace["sensor"]] == [None, job_id]
    stages = {line["stage"]: line for line in trace["asset"]}
    assert set(stages) == EVERY_STAGE
    assert {stages[stage.value]["parse_job_id"] for stage in STAGES[STAGES.index(Stage.PARSE_JOB):]} == {job_id}


def test_a_file_dropped_in_the_inbox_is_logged_with_the_document_id_it_became(app, instance, capfd):
    dropped = write(app.settings.inbox_dir, "notes.md", "# Notes\n\n" + paragraph("inbox notes"))
    settled = time.time() - 60
    os.utime(dropped, (settled, settled))
    tick(app, instance, "inbox_sensor")
    [(doc, _)] = app.documents()
    [line] = about(json_lines(capfd.readouterr().err), doc.id)["sensor"]
    assert line["file_name"] == "notes.md" and line["message"] == f"registered inbox file notes.md as {doc.id}"
