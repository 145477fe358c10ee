"""Ours against LlamaIndex on the same corpus, Postgres and simulated OpenAI API, plus PDF and scale figures.

Usage: python3 -m benchmarks.compare [--documents 300] [--repeat 3] [--scale 100,500,1000,2000]
Needs the `dev` and `benchmark` extras. Prints the tables and writes them as Markdown with a PNG chart.
"""

from __future__ import annotations

import argparse
import atexit
import compileall
import os
import shutil
import tempfile
from pathlib import Path

import benchmarks
import ingest_pipeline
from benchmarks import report
from benchmarks.embedding_requests import edit_one_paragraph
from benchmarks.mixed_corpus import build, describe
from benchmarks.pdf_checks import parse_speed
from benchmarks.pdf_corpus import make_pdf
from benchmarks.postgres_server import SharedServer
from benchmarks.systems import OURS, THEIRS, Measurement, Target, run_llamaindex, run_ours
from ingest_pipeline.batching import BatchLimits, minimum_requests_for
from ingest_pipeline.embedding_models import MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_INPUT, MAX_TOKENS_PER_REQUEST
from ingest_pipeline.simulators.openai_api import running_simulator
from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig

OPENAI_LIMITS = BatchLimits(MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_REQUEST, MAX_TOKENS_PER_INPUT)
RUNNERS = {OURS: run_ours, THEIRS: run_llamaindex}
WARM_UP_DOCUMENTS = 20


class Bench:
    """The shared pieces: a working folder, the Postgres server and the simulator's counters."""

    def __init__(self, work: Path, server: SharedServer, openai_url: str, config: SimulatorConfig):
        self.work, self.server, self.openai_url, self.stats = work, server, openai_url, config.stats

    def ingest(self, system: str, corpus: Path, name: str) -> Measurement:
        """One ingest into database `name` (made on first use), with the requests it made."""
        folder = self.work / name
        if not folder.exists():
            folder.mkdir()
            self.server.create(name)
        sync_url, async_url = self.server.urls(name)
        self.server.settle()
        self.stats.reset()
        measurement = RUNNERS[system](corpus, Target(sync_url, async_url, folder / "state", self.openai_url))
        served = self.stats.snapshot()
        measurement.requests, measurement.inputs, measurement.tokens = served["requests"], served["inputs"], served["tokens"]
        measurement.minimum_requests = minimum_requests_for(served["inputs"], served["tokens"], OPENAI_LIMITS)
        return measurement

    def forget(self, name: str) -> None:
        self.server.drop(name)
        shutil.rmtree(self.work / name, ignore_errors=True)


def byte_compile() -> None:
    """pip byte-compiles installed packages (LlamaIndex) when it installs them; a checkout installed with
    `pip install -e` gets its .pyc files on first import, or never under PYTHONDONTWRITEBYTECODE. Compile
    ours and the benchmark's own modules up front, so neither system compiles source while timed."""
    for package in (ingest_pipeline, benchmarks):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def warm_up(bench: Bench, corpus: Path, documents: int = WARM_UP_DOCUMENTS) -> None:
    """One untimed ingest of a few documents per system: the first process to read the packages and the
    first database on a fresh server pay costs that no later run pays, whichever system goes first."""
    sample = bench.work / "warm-up-corpus"
    sample.mkdir()
    for path in sorted(corpus.iterdir())[:documents]:
        shutil.copy(path, sample / path.name)
    for system in (OURS, THEIRS):
        name = f"warm_up_{'ours' if system == OURS else 'llamaindex'}"
        bench.ingest(system, sample, name)
        bench.forget(name)
    shutil.rmtree(sample)


def rounds(bench: Bench, corpus: Path, repeat: int) -> list[dict]:
    """Each repetition: for each system (order alternating), a backfill, a re-ingest, one edit."""
    results = []
    for rep in range(repeat):
        for system in ((OURS, THEIRS) if rep % 2 == 0 else (THEIRS, OURS)):
            name = f"{'ours' if system == OURS else 'llamaindex'}_{rep}"
            copy = bench.work / f"{name}-corpus"
            shutil.copytree(corpus, copy)
            backfill = bench.ingest(system, copy, name)
            again = bench.ingest(system, copy, name)
            edited_file = edit_one_paragraph(copy)
            edited = bench.ingest(system, copy, name)
            bench.forget(name)
            shutil.rmtree(copy)
            results.append({"system": system, "rep": rep, "backfill": backfill, "again": again,
                            "edited": edited, "edited_file": edited_file.name})
            print(report.round_line(results[-1]), flush=True)
    return results


def large_pdf(bench: Bench, pages: int) -> dict:
    """A `pages`-page PDF ingested alone by each system: peak RSS and time."""
    folder = bench.work / "large-pdf"
    folder.mkdir()
    sources = sorted(Path("/usr/share/doc").rglob("changelog*.gz"))[:60]
    make_pdf(folder / f"book-{pages}-pages.pdf", sources, pages, f"A {pages}-page document")
    measured = {}
    for system in (OURS, THEIRS):
        name = f"large_pdf_{'ours' if system == OURS else 'llamaindex'}"
        measured[system] = bench.ingest(system, folder, name)
        bench.forget(name)
    return {"pages": pages, "file": folder / f"book-{pages}-pages.pdf", "measured": measured}


def scale(bench: Bench, sizes: list[int]) -> list[Measurement]:
    """Ours alone on growing corpora, each into a fresh database."""
    series = []
    for size in sizes:
        corpus = bench.work / f"scale-{size}"
        build(corpus, size)
        series.append(bench.ingest(OURS, corpus, f"scale_{size}"))
        bench.forget(f"scale_{size}")
        shutil.rmtree(corpus)
        print(f"scale: {size} documents in {series[-1].seconds:.1f} s", flush=True)
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300, help="Size of the comparison corpus.")
    parser.add_argument("--repeat", type=int, default=3, help="Repetitions of the comparison, alternating order.")
    parser.add_argument("--pdf-pages", type=int, default=500, help="Pages of the large PDF (0 skips it).")
    parser.add_argument("--scale", default="100,500,1000,2000", help="Corpus sizes for the scale series ('' skips it).")
    parser.add_argument("--out", type=Path, default=Path(".ingest/benchmarks"), help="Where the Markdown and PNG go.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-compare-"))
    os.chmod(work, 0o755)  # as root, pgserver runs Postgres as its own user, which must reach the data
    # Registered before the server starts, so it runs after pgserver's own exit hook has stopped it.
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    corpus = work / "corpus"
    files = build(corpus, args.documents)
    print(f"corpus: {describe(files)}", flush=True)
    byte_compile()
    server = SharedServer(work / "postgres")
    config = SimulatorConfig()
    with running_simulator(config) as openai_url:
        bench = Bench(work, server, openai_url, config)
        warm_up(bench, corpus)
        results = rounds(bench, corpus, args.repeat)
        pdf = large_pdf(bench, args.pdf_pages) if args.pdf_pages else None
        speed = parse_speed(sorted(corpus.glob("*.pdf")) + ([pdf["file"]] if pdf else []))
        series = scale(bench, [int(n) for n in args.scale.split(",") if n.strip()])
    markdown = report.markdown(describe(files), results, pdf, speed, series)
    print("\n" + markdown)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.md").write_text(markdown, encoding="utf-8")
    (args.out / "compare.json").write_text(report.raw_json(results, pdf, speed, series), encoding="utf-8")
    report.chart(results, series, args.out / "compare.png")
    print(f"wrote {args.out / 'compare.md'}, compare.json and compare.png")


if __name__ == "__main__":
    main()
