"""Ours as the store grows: cold ingests of growing corpora into fresh stores, then 300 more documents into each.

Each point: `ingest-pipeline ingest` (as a user runs it, our defaults: the hashing embedder unless
`--embedder openai`, which goes through the OpenAI simulator) of N documents into a fresh database, then a
warm ingest of 300 documents no cold corpus holds into that same database. Before the points, those 300
go into an empty database: the warm ingests' reference. Per point: time per chunk, peak RSS of the ingest
process (the largest of it and its children) and of Postgres (PSS of all its processes), HNSW index size,
search p50/p99 at k=10 with and without a filter, and recall@10 against an exact scan at the largest size.

Usage: python3 -m benchmarks.scale_curve [--sizes 100,1000,5000,10000] [--warm 300] [--embedder hashing]
Needs the `dev` and `benchmark` extras. Writes scale_curve.csv, .json and .png to --out after every point.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from sqlalchemy import text

from benchmarks import scale_report
from benchmarks.bench import Bench, opened_bench
from benchmarks.compare import WARM_UP_DOCUMENTS
from benchmarks.scale_corpus import Pool
from benchmarks.scale_probes import PostgresMemory, hnsw_index_mb, opened_app, search_figures
from benchmarks.systems import Measurement, run_ours
from ingest_pipeline.domain.providers import HASHING, OPENAI

DEFAULT_SIZES = "100,1000,5000,10000"
WARM_DOCUMENTS = 300


def ingest(bench: Bench, corpus: Path, name: str, embedder: str) -> tuple[Measurement, float]:
    """One timed ingest into database `name`, and Postgres's peak memory meanwhile (MB)."""
    target = bench.target(name)
    bench.begin()
    with PostgresMemory(bench.work / "postgres" / "pgdata") as postgres:
        measured = bench.served(run_ours(corpus, target, embedder))
    return measured, postgres.peak_mb


def figures(kind: str, documents_before: int, measured: Measurement, postgres_mb: float) -> dict:
    steps = measured.seconds - measured.stages.get("start-up, register, Dagster set-up", 0.0)
    return {"kind": kind, "store_documents_before": documents_before, "documents": measured.documents,
            "chunks": measured.chunks, "seconds": round(measured.seconds, 2),
            "ms_per_chunk": round(1000 * measured.seconds / max(measured.chunks, 1), 3),
            "index_after_seconds": round(measured.index_seconds or 0.0, 2),
            "steps_ms_per_chunk": round(1000 * steps / max(measured.chunks, 1), 3),
            "ingest_peak_rss_mb": round(measured.peak_rss_mb, 1), "postgres_peak_pss_mb": round(postgres_mb, 1),
            "statuses": measured.statuses}


def store_figures(bench: Bench, name: str, embedder: str, with_recall: bool) -> dict:
    """Index size and search figures of the store in database `name`."""
    target = bench.target(name)
    app = opened_app(target.database_url, target.home, embedder, bench.openai_url)
    try:
        figures = {"hnsw_index_mb": round(hnsw_index_mb(app.engine), 1), **search_figures(app, with_recall)}
        figures["duplicate_chunk_texts"] = duplicate_chunk_texts(app)
    finally:
        app.engine.dispose()
    return figures


def duplicate_chunk_texts(app) -> int:
    """Chunks whose text another chunk has too: 0 when the corpus repeats no text (each would be embedded once)."""
    with app.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) - count(DISTINCT text_hash) FROM chunks")).scalar_one()


def point(bench: Bench, pool: Pool, warm: Path, size: int, embedder: str, largest: bool) -> list[dict]:
    """The cold ingest of `size` documents, its store's figures, then the warm ingest into it."""
    corpus = pool.corpus(bench.work / f"corpus-{size}", size)
    name = f"scale_{size}"
    cold = figures("cold", 0, *ingest(bench, corpus, name, embedder))
    cold.update(store_figures(bench, name, embedder, with_recall=largest))
    print(scale_report.line(cold), flush=True)
    warmed = figures("warm", cold["documents"], *ingest(bench, warm, name, embedder))
    warmed.update(store_figures(bench, name, embedder, with_recall=False))
    print(scale_report.line(warmed), flush=True)
    bench.forget(name)
    shutil.rmtree(corpus)
    return [cold, warmed]


def warm_up(bench: Bench, pool: Pool, embedder: str) -> None:
    """Untimed, as the compare benchmark does: the first process and database pay costs no later one pays."""
    corpus = pool.corpus(bench.work / "warm-up", WARM_UP_DOCUMENTS)
    ingest(bench, corpus, "warm_up", embedder)
    bench.forget("warm_up")
    shutil.rmtree(corpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="Cold corpus sizes, in documents.")
    parser.add_argument("--warm", type=int, default=WARM_DOCUMENTS, help="Documents of each warm ingest.")
    parser.add_argument("--embedder", choices=(HASHING, OPENAI), default=HASHING, help="The embedder ingests use.")
    parser.add_argument("--out", type=Path, default=Path(".ingest/benchmarks"), help="Where the CSV, JSON and PNG go.")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.sizes.split(",") if n.strip())
    with opened_bench("ingest-scale-") as bench:
        pool = Pool(bench.work / "sources")
        warm = pool.warm(bench.work / "warm", args.warm)
        warm_up(bench, pool, args.embedder)
        rows = [figures("warm", 0, *ingest(bench, warm, "reference", args.embedder))]
        print(scale_report.line(rows[0]), flush=True)
        bench.forget("reference")
        for size in sizes:
            rows += point(bench, pool, warm, size, args.embedder, largest=size == sizes[-1])
            scale_report.write(args.out, rows, args.embedder)
    print("\n" + scale_report.markdown(rows, args.embedder))


if __name__ == "__main__":
    main()
