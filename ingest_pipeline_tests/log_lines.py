"""Test helpers that read the JSON log lines a test wrote to stderr, and run a tick's requests as the daemon launches them."""

from __future__ import annotations

import json

import dagster as dg

from ingest_pipeline.orchestration.code_location import INGEST_JOB, build_definitions
from ingest_pipeline.service.application import Application


def json_lines(text: str) -> list[dict]:
    """Every line of `text` that is a JSON object (Dagster's own console lines are not)."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def about(lines: list[dict], document_id: str) -> dict[str, list[dict]]:
    """The lines naming `document_id`, by component (api, sensor, asset)."""
    grouped: dict[str, list[dict]] = {}
    for line in lines:
        if line["document_id"] == document_id:
            grouped.setdefault(line.get("component", "other"), []).append(line)
    return grouped


def launch_requested(app: Application, instance: dg.DagsterInstance,
                     result: dg.SensorResult) -> list[dg.ExecuteInProcessResult]:
    """The tick's run requests as the daemon launches them: the ingest job, with each request's run config."""
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    job = build_definitions(app.resources).resolve_job_def(INGEST_JOB)
    return [job.execute_in_process(instance=instance, run_config=request.run_config, tags=request.tags,
                                   asset_selection=request.asset_selection, raise_on_error=False)
            for request in result.run_requests or []]
