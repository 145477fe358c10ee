"""The whole pipeline soaked under injected faults, with a report of what became of every document.

Both simulators inject faults at a rate (OpenAI: 429, 500, timeouts, malformed bodies, dropped
connections; LlamaParse: 429, 500, and dropped, duplicated, stale, unsigned and delayed webhooks),
the ingest API receives the webhooks, and the sensors drive the runs as the daemon would. The fast
form is `test_fault_injection.py`; the long soak runs it from the command line (see the `faults`
marker in pytest.ini).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from sqlalchemy import text

from ingest_pipeline.api.app import create_app
from ingest_pipeline.cli.ingest_command import register_paths
from ingest_pipeline.domain.statuses import SETTLED, DocumentStatus
from ingest_pipeline.orchestration.code_location import INGEST_JOB, build_definitions
from ingest_pipeline.orchestration.runs import open_instance
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.simulators.background_server import serving_in_background
from ingest_pipeline.simulators.llamaparse_api import ParseSimulatorConfig, running_llamaparse_simulator
from ingest_pipeline.simulators.openai_api import running_simulator
from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig
from ingest_pipeline_tests.fault_corpus import write_corpus
from ingest_pipeline_tests.store_invariants import violations

SECRET = "whsec-soak"
_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class SoakReport:
    good: int = 0
    embedded: int = 0
    lost: dict[str, str] = field(default_factory=dict)
    bad: int = 0
    failed_with_reason: int = 0
    bad_not_failed: dict[str, str] = field(default_factory=dict)
    refused_at_intake: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    violations: dict[str, int] = field(default_factory=dict)
    injected: dict[str, int] = field(default_factory=dict)
    runs: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"good documents: {self.good}, embedded: {self.embedded}, lost: {len(self.lost)} {self.lost or ''}",
            f"bad documents: {self.bad}, failed with a reason: {self.failed_with_reason} {self.bad_not_failed or ''}",
            f"rows: {self.rows}; duplicates and orphans: {self.violations or 'none'}",
            f"faults injected: {self.injected}",
            f"{self.runs} runs in {self.seconds:.1f} s",
        ]


def fault_settings(rate: float, seed: int) -> tuple[dict, dict]:
    """The OpenAI and LlamaParse fault settings for a total request fault rate `rate`."""
    openai = {"seed": seed, "retry_after_seconds": 0.05, "slow_seconds": 1.5,
              **{f"probability_{kind}": rate / 5 for kind in ("429", "500", "slow", "malformed", "drop")}}
    webhooks = ("drop", "duplicate", "out_of_order", "unsigned", "delay")
    parse = {"seed": seed, "retry_after_seconds": 0.05, "webhook_delay_seconds": 1.0,
             "probability_429": rate / 2, "probability_500": rate / 2,
             **{f"probability_webhook_{kind}": rate for kind in webhooks}}
    return openai, parse


def soak(work: Path, documents: int, rate: float, seed: int = 1, timeout: float = 900.0,
         database_url: str = "") -> SoakReport:
    """Ingest a fresh corpus under faults; `database_url` empty starts an embedded Postgres in `work`."""
    corpus = work / "corpus"
    good, bad = write_corpus(corpus, documents)
    openai_faults, parse_faults = fault_settings(rate, seed)
    openai_config = SimulatorConfig()
    parse_config = ParseSimulatorConfig(job_delay_seconds=0.05, webhook_backoff_seconds=(0.2, 0.4))
    base = {"INGEST_HOME": str(work / "home"), "INGEST_DATABASE_URL": database_url}
    started = time.monotonic()
    with running_simulator(openai_config) as openai_url, running_llamaparse_simulator(parse_config) as parse_url:
        receiver = Application(Settings.from_env({**base, "INGEST_WEBHOOK_SECRET": SECRET}))
        with serving_in_background(create_app(receiver), "/health", name="ingest-api") as api_url:
            app = Application(Settings.from_env({
                **base, "INGEST_EMBEDDER": "openai", "OPENAI_BASE_URL": openai_url, "OPENAI_API_KEY": "sk-soak",
                "INGEST_OPENAI_TPM": "100000000", "INGEST_PARSER": "llamaparse", "LLAMA_CLOUD_API_KEY": "llx-soak",
                "LLAMA_CLOUD_BASE_URL": parse_url, "INGEST_PUBLIC_URL": api_url, "INGEST_WEBHOOK_SECRET": SECRET,
                "INGEST_PARSE_POLL_AFTER": "2", "INGEST_CHUNK_TOKENS": "128", "INGEST_CHUNK_OVERLAP": "16"}))
            # A response slower than the timeout is a timeout, so the slow fault exercises timeouts; small
            # requests make many, so the faults meet the embedding path as often as the parse path.
            app.resources["embedder"] = _with(app.embedder, timeout_seconds=1.0, max_inputs_per_request=16)
            openai_config.faults.update(openai_faults)
            parse_config.faults.update(parse_faults)
            ids, refused = register_paths(app, [corpus])
            runs = drive(app, ids, time.monotonic() + timeout)
    report = _report(app, ids, good, bad)
    report.refused_at_intake = sum(1 for row in refused if Path(row["path"]).name in bad and row["reason"])
    report.failed_with_reason += report.refused_at_intake
    report.runs, report.seconds = runs, time.monotonic() - started
    report.injected = _injected(openai_config.stats.snapshot(), parse_config.stats.snapshot())
    return report


def _with(resource: dg.ConfigurableResource, **changes) -> dg.ConfigurableResource:
    """A new resource with some fields changed (Dagster builds a run's resources from their config,
    which a pydantic copy would not carry)."""
    values = {name: getattr(resource, name) for name in type(resource).model_fields}
    return type(resource)(**{**values, **changes})


def drive(app: Application, ids: list[str], deadline: float) -> int:
    """Tick the sensors and run what they ask for, as the daemon would, until every document settles."""
    defs = build_definitions(app.resources)
    instance = open_instance(app.settings.dagster_home)
    job, cursor, runs = defs.resolve_job_def(INGEST_JOB), None, 0
    while time.monotonic() < deadline and not _settled(app, ids):
        for name in ("uploads_sensor", "parse_completion_sensor"):
            with dg.build_sensor_context(instance=instance, resources=app.resources, definitions=defs,
                                         cursor=cursor if name == "uploads_sensor" else None) as context:
                result = defs.resolve_sensor_def(name)(context)
            if name == "uploads_sensor" and result.cursor:
                cursor = result.cursor
            for request in result.dynamic_partitions_requests or []:
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            for request in result.run_requests or []:
                job.execute_in_process(instance=instance, tags=request.tags, asset_selection=request.asset_selection,
                                       run_config=_QUIET, raise_on_error=False)
                runs += 1
        time.sleep(0.5)
    return runs


def _settled(app: Application, ids: list[str]) -> bool:
    return all(doc.status in SETTLED for doc, _ in app.documents(ids))


def _report(app: Application, ids: list[str], good: set[str], bad: set[str]) -> SoakReport:
    report = SoakReport(good=len(good), bad=len(bad))
    for doc, _ in app.documents(ids):
        name = Path(doc.source).name
        if name in good:
            if doc.status is DocumentStatus.EMBEDDED:
                report.embedded += 1
            else:
                report.lost[name] = f"{doc.status}: {doc.reason}"
        elif doc.status is DocumentStatus.FAILED and doc.reason:
            report.failed_with_reason += 1
        else:
            report.bad_not_failed[name] = str(doc.status)
    with app.engine.connect() as conn:
        report.rows = {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                       for table in ("documents", "chunks", "chunk_embeddings", "staged_chunks", "parse_jobs")}
        report.rows["sum of chunk_count"] = conn.execute(text("SELECT coalesce(sum(chunk_count), 0) FROM documents")).scalar_one()
    report.violations = violations(app.engine)
    return report


def _injected(openai: dict, parse: dict) -> dict[str, int]:
    counts = {f"openai {outcome}": n for outcome, n in openai.get("by_outcome", {}).items() if outcome != "ok"}
    if openai.get("slowed"):
        counts["openai timeouts (slow answers)"] = openai["slowed"]
    counts.update({f"llamaparse {name}": n for name, n in parse.items()
                   if isinstance(n, int) and name.startswith(("injected", "webhooks_dropped", "webhooks_duplicated",
                                                              "webhooks_stale", "webhooks_failed"))})
    return counts
