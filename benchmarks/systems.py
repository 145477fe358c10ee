"""Runs one ingest of ours or LlamaIndex's in a process of its own and measures it from outside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

OURS, THEIRS = "ours", "LlamaIndex"
STARTUP_STAGE = "start-up, register, Dagster set-up"
CHUNK_TOKENS, CHUNK_OVERLAP = 512, 64


@dataclass
class Measurement:
    """One ingest by one system: wall time from spawn to exit, and the peak RSS of its largest process
    (the child, or one of the worker processes it forked and waited for)."""

    system: str
    seconds: float
    peak_rss_mb: float
    documents: int
    chunks: int
    stages: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    inputs: int = 0
    tokens: int = 0
    minimum_requests: int = 0

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds


@dataclass(frozen=True)
class Target:
    """Where a system writes: its database on the shared server, and a folder of its own."""

    database_url: str  # postgresql+psycopg2://...
    async_url: str  # postgresql+asyncpg://..., for LlamaIndex's async engine
    home: Path
    openai_url: str


def measure_process(argv: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """(stdout, seconds, peak RSS in MB) of a child; wait4 gives that child's rusage, whose maxrss is
    the largest of the child's and those of the descendants it waited for (Linux): the peak of any
    one process, not a sum (forked workers share the parent's pages until they write them)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=Path(__file__).parent.parent)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode not in (0, 1):  # ours exits 1 when a document failed, which is reported
        raise RuntimeError(f"{argv[2]} exited with {child.returncode}:\n{stderr[-3000:]}")
    return stdout, seconds, usage.ru_maxrss / 1024


def run_ours(corpus: Path, target: Target) -> Measurement:
    """`ingest-pipeline ingest CORPUS --json`, exactly as a user runs it, on the target database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INGEST_", "DAGSTER_"))}
    env.update({
        "INGEST_HOME": str(target.home), "INGEST_DATABASE_URL": target.database_url,
        "INGEST_EMBEDDER": "openai", "OPENAI_BASE_URL": target.openai_url, "OPENAI_API_KEY": "sk-benchmark",
        # LlamaIndex has no rate budget; the simulator enforces no limit: neither side waits.
        "INGEST_OPENAI_RPM": "1000000", "INGEST_OPENAI_TPM": "1000000000",
        "INGEST_CHUNK_TOKENS": str(CHUNK_TOKENS), "INGEST_CHUNK_OVERLAP": str(CHUNK_OVERLAP),
    })
    started = time.time()
    stdout, seconds, rss = measure_process(
        [sys.executable, "-m", "ingest_pipeline.cli.main", "ingest", str(corpus), "--json"], env)
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    stages = step_seconds(target.home / "dagster", started, {k: v for k, v in env.items() if k.startswith("INGEST_")})
    stages = {STARTUP_STAGE: max(0.0, seconds - sum(stages.values())), **stages}
    return Measurement(OURS, seconds, rss, documents=len(rows), chunks=sum(row["chunks"] or 0 for row in rows),
                       stages=stages, statuses=dict(Counter(row["status"] for row in rows)))


def run_llamaindex(corpus: Path, target: Target) -> Measurement:
    stdout, seconds, rss = measure_process([
        sys.executable, "-m", "benchmarks.llamaindex_worker", "--corpus", str(corpus), "--state", str(target.home),
        "--database-url", target.database_url, "--async-url", target.async_url, "--openai-url", target.openai_url,
        "--chunk-tokens", str(CHUNK_TOKENS), "--overlap-tokens", str(CHUNK_OVERLAP),
    ], dict(os.environ))
    report = json.loads(stdout.strip().splitlines()[-1])
    stages = {"interpreter start": max(0.0, seconds - report["seconds"]), **report["stages"]}
    return Measurement(THEIRS, seconds, rss, documents=report["documents"], chunks=report["chunks"], stages=stages)


def step_seconds(dagster_home: Path, since: float, settings: dict[str, str]) -> dict[str, float]:
    """Seconds per step (asset) of the runs made since `since`, from Dagster's step events.

    `settings` (the run's INGEST_* variables) are in the environment while the instance is read,
    for an instance configuration that finds its storage through them.
    """
    import dagster as dg

    if not (dagster_home / "dagster.yaml").exists():
        return {}  # nothing to do, so no run: a re-ingest of unchanged files
    wanted = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    totals: dict[str, float] = {}
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        _add_step_seconds(dg, dagster_home, since, totals, wanted)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return totals


def _add_step_seconds(dg, dagster_home: Path, since: float, totals: dict[str, float], wanted: set) -> None:
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for run in instance.get_runs():
            if run.status.value == "NOT_STARTED" or instance.get_run_record_by_id(run.run_id).create_timestamp.timestamp() < since:
                continue
            starts: dict[str, float] = {}
            for entry in instance.all_logs(run.run_id, of_type=wanted):
                event = entry.dagster_event
                if event.event_type is dg.DagsterEventType.STEP_START:
                    starts.setdefault(event.step_key, entry.timestamp)
                elif event.step_key in starts:
                    totals[event.step_key] = totals.get(event.step_key, 0.0) + entry.timestamp - starts.pop(event.step_key)
