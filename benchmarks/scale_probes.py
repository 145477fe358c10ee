"""What the scale curve reads besides an ingest's time: Postgres's memory, the HNSW index size, search latency and recall."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from statistics import quantiles

from sqlalchemy import Engine, text

from ingest_pipeline.search.nearest import nearest_chunks
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.store import embeddings
from ingest_pipeline.store.search_filters import Filters

K = 10
QUERIES = 200
RECALL_QUERIES = 100
SAMPLE_SECONDS = 0.5
SETTLE_SECONDS = 600
# Scores this close are one distance (float rounding of the same vector comparison).
TIE = 1e-6


class PostgresMemory:
    """Peak proportional set size (PSS) of the server's processes together, sampled while the block runs.

    PSS splits each shared page among the processes that map it, so shared buffers count once."""

    def __init__(self, data_directory: Path):
        self.postmaster = int((data_directory / "postmaster.pid").read_text().split()[0])
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PostgresMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak_mb = max(self.peak_mb, sum(_pss_kb(pid) for pid in self._processes()) / 1024)

    def _processes(self) -> list[int]:
        pids = [self.postmaster]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.postmaster:
                    pids.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue  # gone between listing and reading
        return pids


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def hnsw_index_mb(engine: Engine) -> float:
    """Every HNSW index of the database together, in MB."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::bigint FROM pg_class c JOIN pg_am a ON a.oid = c.relam"
            " WHERE a.amname = 'hnsw'")).scalar_one() / 1e6


def search_figures(app: Application, with_recall: bool) -> dict:
    """p50/p99 of `nearest_chunks` at k=10 for QUERIES queries made of stored chunks' words, without and with a
    filter on one document, on the store at rest (autovacuum done, a first pass untimed); recall@10 against an
    exact scan when asked."""
    space = app.embedder.space
    with app.engine.connect() as conn:
        set_id = embeddings.find_set(conn, space.embedder, space.model, space.dimensions)
        samples = conn.execute(text("SELECT document_id, text FROM chunks ORDER BY md5(id::text) LIMIT :n"),
                               {"n": QUERIES}).all()
    rng = random.Random(QUERIES)
    queries = [" ".join(rng.sample(sample.text.split(), min(8, len(sample.text.split())))) for sample in samples]
    vectors = app.embedder.embed(queries)
    figures = {"queries": len(queries), "settle_seconds": round(settle(app.engine), 1)}
    _latencies(app.engine, set_id, space.dimensions, vectors, None, "")  # untimed: the index into memory
    figures.update(_latencies(app.engine, set_id, space.dimensions, vectors, None, ""))
    filters = [Filters(document_ids=(sample.document_id,)) for sample in samples]
    figures.update(_latencies(app.engine, set_id, space.dimensions, vectors, filters, "filtered_"))
    if with_recall:
        figures["recall_at_10"] = _recall(app.engine, set_id, space.dimensions, vectors[:RECALL_QUERIES])
    return figures


def settle(engine: Engine, timeout: float = SETTLE_SECONDS) -> float:
    """Wait (at most `timeout`) until no autovacuum worker runs: search latency of the store at rest. Right
    after a large ingest autovacuum works through the new rows (the chunks' text index above all) on the
    same two cores: p99 54 ms instead of 35 at 100k chunks. Returns the seconds waited."""
    started = time.monotonic()
    with engine.connect() as conn:
        while time.monotonic() - started < timeout:
            with conn.begin():
                if not conn.execute(text("SELECT count(*) FROM pg_stat_activity "
                                         "WHERE backend_type = 'autovacuum worker'")).scalar_one():
                    break
            time.sleep(1)
    return time.monotonic() - started


def _latencies(engine: Engine, set_id: int, dimensions: int, vectors: list, filters: list | None, prefix: str) -> dict:
    timings = []
    with engine.connect() as conn:
        for index, vector in enumerate(vectors):
            extra = {"filters": filters[index]} if filters else {}
            started = time.perf_counter()
            with conn.begin():
                nearest_chunks(conn, set_id, dimensions, vector, K, **extra)
            timings.append(1000 * (time.perf_counter() - started))
    cuts = quantiles(timings, n=100, method="inclusive")
    return {f"{prefix}search_p50_ms": round(cuts[49], 2), f"{prefix}search_p99_ms": round(cuts[98], 2)}


def _recall(engine: Engine, set_id: int, dimensions: int, vectors: list) -> float:
    """Share of the exact top 10 (a sequential scan: index scans switched off) the search found. A hit as close
    as the exact 10th counts: of chunks at the same distance, either is a right answer."""
    found = total = 0
    with engine.connect() as conn:
        for vector in vectors:
            with conn.begin():
                approximate = nearest_chunks(conn, set_id, dimensions, vector, K)
            with conn.begin():
                conn.execute(text("SET LOCAL enable_indexscan = off"))
                conn.execute(text("SET LOCAL enable_bitmapscan = off"))
                exact = nearest_chunks(conn, set_id, dimensions, vector, K)
            if exact:
                found += min(len(exact), sum(hit.score >= exact[-1].score - TIE for hit in approximate))
                total += len(exact)
    return round(found / max(total, 1), 4)


def opened_app(database_url: str, home: Path, embedder: str, openai_url: str) -> Application:
    """The application on an ingested store, as the search command opens it."""
    environment = {"INGEST_DATABASE_URL": database_url, "INGEST_HOME": str(home), "INGEST_EMBEDDER": embedder,
                   "OPENAI_BASE_URL": openai_url, "OPENAI_API_KEY": "sk-benchmark"}
    return Application(Settings.from_env(environment))
