"""A LlamaParse simulator and a running ingest API wired as the pipeline's parser, and sensor ticks that drive it."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import dagster as dg
from sqlalchemy import text

from ingest_pipeline.api.app import create_app
from ingest_pipeline.orchestration.assets import document_assets
from ingest_pipeline.orchestration.code_location import build_definitions
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.simulators.background_server import serving_in_background
from ingest_pipeline.simulators.llamaparse_api import ParseSimulatorConfig, running_llamaparse_simulator

KEY = "llx-test"
SECRET = "whsec-pipeline"


@dataclass
class ParseStack:
    simulator: ParseSimulatorConfig
    app: Application


@contextmanager
def llamaparse_stack(environment: dict[str, str], job_seconds: tuple[float, float] | None = None,
                     **parser_settings: str) -> Iterator[ParseStack]:
    """The simulator (its jobs taking `job_seconds` when given), the ingest API receiving its webhooks, and an
    Application parsing through both."""
    config = ParseSimulatorConfig(api_key=KEY, job_delay_seconds=0.05, webhook_backoff_seconds=(0.05, 0.05),
                                  job_seconds=job_seconds)
    receiver = Application(Settings.from_env({**environment, "INGEST_WEBHOOK_SECRET": SECRET}))
    with running_llamaparse_simulator(config) as simulator_url, serving_in_background(create_app(receiver), "/health", name="ingest-api") as api_url:
        settings = Settings.from_env({
            **environment, "INGEST_PARSER": "llamaparse", "LLAMA_CLOUD_API_KEY": KEY,
            "LLAMA_CLOUD_BASE_URL": simulator_url, "INGEST_PUBLIC_URL": api_url,
            "INGEST_WEBHOOK_SECRET": SECRET, "INGEST_LLAMAPARSE_TIER": "fast", **parser_settings,
        })
        yield ParseStack(config, Application(settings))


def wait_until(condition: Callable[[], bool], timeout: float = 15.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def count(app: Application, sql: str, **params) -> int:
    with app.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def tick(app: Application, instance: dg.DagsterInstance, name: str = "parse_completion_sensor",
         cursor: str | None = None) -> dg.SensorResult:
    defs = build_definitions(app.resources)
    with dg.build_sensor_context(instance=instance, resources=app.resources, definitions=defs,
                                 cursor=cursor) as context:
        return defs.resolve_sensor_def(name)(context)


def run_requested(app: Application, instance: dg.DagsterInstance, result: dg.SensorResult) -> list[dg.ExecuteInProcessResult]:
    """Execute a tick's run requests in process, as the daemon would launch them."""
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return [dg.materialize(document_assets, instance=instance, resources=app.resources, raise_on_error=False,
                           selection=request.asset_selection, tags=request.tags)
            for request in result.run_requests or []]
