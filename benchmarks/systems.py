"""Runs one ingest of ours or LlamaIndex's in a process of its own and measures it from outside."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.dagster_figures import ours_run_figures
from ingest_pipeline.chunk.blocks import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP_TOKENS
from ingest_pipeline.domain.providers import OPENAI
from ingest_pipeline.embed.models import DEFAULT_OPENAI_MODEL, openai_model

OURS, THEIRS = "ours", "LlamaIndex"
SLUG = {OURS: "ours", THEIRS: "llamaindex"}  # in database and folder names
STARTUP_STAGE = "start-up, register, Dagster set-up"
CHUNK_TOKENS, CHUNK_OVERLAP = DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP_TOKENS


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
    rate_limited: int = 0  # the simulator's 429s for its RPM/TPM limits
    budget_wait_seconds: float | None = None  # ours: waited in its rate budget (None: not reported)
    # Ours: from the ingest's exit until its background index upkeep was done (searchable all along, by an
    # exact scan of the vectors not yet indexed); waited for, so it never overlaps the next measurement.
    index_seconds: float | None = None

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
    home: Path  # ours' INGEST_HOME
    openai_url: str


def measure_process(argv: list[str], env: dict[str, str], exit_codes: tuple[int, ...] = (0,)
                    ) -> tuple[str, float, float, str]:
    """(stdout, seconds, peak RSS in MB, stderr) of a child; wait4 gives that child's rusage, whose maxrss is
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
    if child.returncode not in exit_codes or not stdout.strip():  # both systems print what they did
        silent = "" if stdout.strip() else ", printing nothing"
        raise RuntimeError(f"{argv[2]} exited with {child.returncode}{silent}:\n{stderr[-3000:]}")
    return stdout, seconds, usage.ru_maxrss / 1024, stderr


def ours_environment(target: Target, embedder: str = OPENAI) -> dict[str, str]:
    """What a user's shell gives `ingest-pipeline ingest`: our defaults (no INGEST_OPENAI_RPM/TPM, so the rate
    budget learns the account's limits from the API), none of the caller's INGEST_*/DAGSTER_* settings.
    `embedder`: OpenAI through the simulator, or another of ours (then nothing names the simulator)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INGEST_", "DAGSTER_"))}
    env.update({
        "INGEST_HOME": str(target.home), "INGEST_DATABASE_URL": target.database_url, "INGEST_EMBEDDER": embedder,
        "INGEST_CHUNK_TOKENS": str(CHUNK_TOKENS), "INGEST_CHUNK_OVERLAP": str(CHUNK_OVERLAP),
    })
    if embedder == OPENAI:
        env.update({"OPENAI_BASE_URL": target.openai_url, "OPENAI_API_KEY": "sk-benchmark"})
    return env


def run_ours(corpus: Path, target: Target, embedder: str = OPENAI) -> Measurement:
    """`ingest-pipeline ingest CORPUS --json`, exactly as a user runs it, on the target database."""
    env = ours_environment(target, embedder)
    started = time.time()
    stdout, seconds, rss, stderr = measure_process(  # ours exits 1 when a document failed, which is reported
        [sys.executable, "-m", "ingest_pipeline.cli.main", "ingest", str(corpus), "--json"], env, (0, 1))
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    settings = {key: value for key, value in env.items() if key.startswith("INGEST_")}
    stages, waited = ours_run_figures(target.home / "dagster", started, settings, [row["id"] for row in rows])
    stages = {STARTUP_STAGE: max(0.0, seconds - sum(stages.values())), **stages}
    return Measurement(OURS, seconds, rss, documents=len(rows), chunks=sum(row["chunks"] or 0 for row in rows),
                       stages=stages, statuses=dict(Counter(row["status"] for row in rows)), budget_wait_seconds=waited,
                       index_seconds=wait_for_index(stderr, target))


def wait_for_index(stderr: str, target: Target) -> float:
    """Seconds from the ingest's exit until the index upkeep process it left running exited, every vector then
    checked to be indexed (0 when it left none)."""
    started = time.monotonic()
    found = re.search(r"in the background \(process (\d+),", stderr)
    while found and process_alive(int(found.group(1))):
        time.sleep(0.05)
    engine = create_engine(target.database_url)
    try:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM chunk_embeddings WHERE NOT indexed")).scalar_one()
    finally:
        engine.dispose()
    if left:
        raise RuntimeError(f"the index upkeep left {left} vectors unindexed (see INGEST_HOME/logs/index-upkeep.log)")
    return time.monotonic() - started


def process_alive(pid: int) -> bool:
    """Running: not gone, nor exited and waiting to be reaped (a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def run_llamaindex(corpus: Path, target: Target) -> Measurement:
    """The worker's `IngestionPipeline` run, timed from outside as ours is; its own clock only splits the stages."""
    stdout, seconds, rss, _ = measure_process([
        sys.executable, "-m", "benchmarks.llamaindex_worker", "--corpus", str(corpus),
        "--database-url", target.database_url, "--async-url", target.async_url, "--openai-url", target.openai_url,
        "--chunk-tokens", str(CHUNK_TOKENS), "--overlap-tokens", str(CHUNK_OVERLAP),
        "--model", DEFAULT_OPENAI_MODEL, "--dimensions", str(openai_model(DEFAULT_OPENAI_MODEL).default_dimensions),
    ], dict(os.environ))
    report = json.loads(stdout.strip().splitlines()[-1])
    stages = {"interpreter start": max(0.0, seconds - report["seconds"]), **report["stages"]}
    return Measurement(THEIRS, seconds, rss, documents=report["documents"], chunks=report["chunks"], stages=stages)
