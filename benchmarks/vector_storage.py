"""How to store and index chunk vectors, by measurement on the embedded server: `vector` against `halfvec`
(a halfvec column, or a `vector` column with a halfvec index expression), at 10k and 100k chunks of hashing
embedder vectors. Prints index size, build time (plain and CONCURRENTLY), insert time (one statement per
vector, one batched statement, batches over several connections), recall@10 against an exact scan and
query latency p50/p99.

    python3 -m benchmarks.vector_storage [--sizes 10000,100000] [--dimensions 512,1536]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine

from ingest_pipeline.embed.hashing import hashed_vector
from ingest_pipeline.store.embedded import embedded_database_url
from ingest_pipeline.store.embeddings import copy_payload, vector_literal

# (name, column type, type of the indexed expression); the index is on `embedding::TYPE(n)`.
VARIANTS = (
    ("vector", "vector", "vector"),
    ("vector + halfvec index", "vector", "halfvec"),
    ("halfvec column", "halfvec", "halfvec"),
)
QUERIES = 200
# hnsw.ef_search values tried: pgvector's default (40) and wider candidate lists.
EF_SEARCH = (40, 100, 200, 400)
INSERTS = 500
CONNECTIONS = (2, 4)
K = 10
WORDS_PER_CHUNK = 150
VOCABULARY = 30_000


def _texts(count: int, seed: int) -> list[str]:
    """Distinct chunk-like texts: Zipf-distributed words of a large vocabulary, as prose has."""
    rng = np.random.default_rng(seed)
    words = np.minimum(rng.zipf(1.15, size=(count, WORDS_PER_CHUNK)), VOCABULARY)
    return [f"chunk {seed} {i} " + " ".join(f"w{w}" for w in row) for i, row in enumerate(words)]


def _embed(args: tuple[list[str], int]) -> np.ndarray:
    texts, dimensions = args
    return np.array([hashed_vector(t, dimensions) for t in texts], dtype=np.float32)


def vectors(count: int, dimensions: int, seed: int) -> np.ndarray:
    texts = _texts(count, seed)
    parts = [(texts[i:i + 5000], dimensions) for i in range(0, count, 5000)]
    with Pool(2) as pool:
        return np.concatenate(pool.map(_embed, parts))


def _copy(raw, table: str, data: np.ndarray, first_id: int) -> None:
    with raw.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (id text, embedding vector)")
        cur.execute("TRUNCATE incoming")
        payload = copy_payload((str(first_id + i), row) for i, row in enumerate(data))
        cur.copy_expert("COPY incoming FROM STDIN WITH (FORMAT binary)", io.BytesIO(payload))
        cur.execute(f"INSERT INTO {table} SELECT id::int, embedding FROM incoming")
    raw.commit()


def _timed(raw, sql: str) -> float:
    started = time.perf_counter()
    with raw.cursor() as cur:
        cur.execute(sql)
    raw.commit()
    return time.perf_counter() - started


def _one_by_one(raw, table: str, data: np.ndarray, first_id: int) -> float:
    started = time.perf_counter()
    with raw.cursor() as cur:
        for i, row in enumerate(data):
            cur.execute(f"INSERT INTO {table} VALUES (%s, %s)", (first_id + i, vector_literal(row)))
            raw.commit()
    return time.perf_counter() - started


def _parallel(engine, table: str, data: np.ndarray, first_id: int, connections: int) -> float:
    shares = np.array_split(np.arange(len(data)), connections)
    raws = [engine.raw_connection() for _ in range(connections)]
    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(lambda j: _copy(raws[j], table, data[shares[j]], first_id + int(shares[j][0])), range(connections)))
    seconds = time.perf_counter() - started
    for raw in raws:
        raw.close()
    return seconds


def _search(raw, table: str, expression: str, cast: str, queries: np.ndarray, ef: int) -> tuple[list[list[int]], list[float]]:
    found, latencies = [], []
    with raw.cursor() as cur:
        cur.execute(f"SET hnsw.ef_search = {ef}")
        for query in queries:
            started = time.perf_counter()
            cur.execute(f"SELECT id FROM {table} ORDER BY {expression} <=> %s::{cast} LIMIT {K}", (vector_literal(query),))
            found.append([r[0] for r in cur.fetchall()])
            latencies.append((time.perf_counter() - started) * 1000)
    raw.commit()
    return found, latencies


def _exact(data: np.ndarray, ids: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    scores = queries @ data.T  # hashing vectors are unit length: cosine similarity
    return [set(ids[np.argsort(-row)[:K]].tolist()) for row in scores]


def measure(engine, size: int, dimensions: int, variant: tuple[str, str, str]) -> dict:
    name, column, indexed = variant
    cast = f"{indexed}({dimensions})"
    expression = f"embedding::{cast}"
    index = f"(({expression})) {indexed}_cosine_ops"
    data, extra, queries = (vectors(size, dimensions, 1), vectors(INSERTS * (3 + sum(CONNECTIONS)), dimensions, 2),
                            vectors(QUERIES, dimensions, 3)) if (size, dimensions) not in _CACHE else _CACHE[(size, dimensions)]
    _CACHE[(size, dimensions)] = (data, extra, queries)
    raw = engine.raw_connection()
    with raw.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_vectors")
        cur.execute(f"CREATE TABLE bench_vectors (id int PRIMARY KEY, embedding {column}({dimensions}))")
        cur.execute("SET maintenance_work_mem = '512MB'")
    raw.commit()
    _copy(raw, "bench_vectors", data, 0)
    figures = {"variant": name, "size": size, "dimensions": dimensions}
    started = time.perf_counter()
    _copy(raw, "bench_vectors", extra[-INSERTS:], size + len(extra))  # no index yet: the heap's own cost
    figures["insert_no_index_ms"] = (time.perf_counter() - started) / INSERTS * 1000
    figures["build_s"] = _timed(raw, f"CREATE INDEX bench_hnsw ON bench_vectors USING hnsw ({index})")
    figures["index_mb"] = _scalar(raw, "SELECT pg_relation_size('bench_hnsw')") / 2**20
    figures["heap_mb"] = _scalar(raw, "SELECT pg_table_size('bench_vectors')") / 2**20
    ids = np.concatenate([np.arange(size), size + len(extra) + np.arange(INSERTS)])
    exact = _exact(np.concatenate([data, extra[-INSERTS:]]), ids, queries)
    for ef in EF_SEARCH:
        found, latencies = _search(raw, "bench_vectors", expression, cast, queries, ef)
        figures[f"recall_ef{ef}"] = statistics.mean(len(exact[i] & set(f)) / K for i, f in enumerate(found))
        figures[f"p50_ef{ef}_ms"], figures[f"p99_ef{ef}_ms"] = np.percentile(latencies, [50, 99]).tolist()
    first = size
    figures["insert_one_by_one_ms"] = _one_by_one(raw, "bench_vectors", extra[:INSERTS], first) / INSERTS * 1000
    started = time.perf_counter()
    _copy(raw, "bench_vectors", extra[INSERTS:2 * INSERTS], first + INSERTS)
    figures["insert_batched_ms"] = (time.perf_counter() - started) / INSERTS * 1000
    offset = 2 * INSERTS
    for connections in CONNECTIONS:
        batch = extra[offset:offset + INSERTS * connections]
        figures[f"insert_{connections}_connections_ms"] = _parallel(engine, "bench_vectors", batch, first + offset,
                                                                    connections) / len(batch) * 1000
        offset += len(batch)
    figures["rebuild_concurrently_s"] = _rebuild_concurrently(engine, index)
    raw.close()
    return figures


def _rebuild_concurrently(engine, index: str) -> float:
    raw = engine.raw_connection()
    raw.driver_connection.autocommit = True
    with raw.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '512MB'")
        started = time.perf_counter()
        cur.execute(f"CREATE INDEX CONCURRENTLY bench_hnsw_new ON bench_vectors USING hnsw ({index})")
        seconds = time.perf_counter() - started
        cur.execute("DROP INDEX bench_hnsw")  # the swap: the new index serves from here on
        cur.execute("ALTER INDEX bench_hnsw_new RENAME TO bench_hnsw")
    raw.driver_connection.autocommit = False
    raw.close()
    return seconds


def _scalar(raw, sql: str):
    with raw.cursor() as cur:
        cur.execute(sql)
        value = cur.fetchone()[0]
    raw.commit()
    return value


_CACHE: dict = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dimensions", default="512")
    parser.add_argument("--variants", default=",".join(v[0] for v in VARIANTS), help="Comma-separated variant names.")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="vector-storage-"))
    home.chmod(0o755)
    engine = create_engine(embedded_database_url(home), pool_size=8)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
    for dimensions in [int(d) for d in args.dimensions.split(",")]:
        for size in [int(s) for s in args.sizes.split(",")]:
            for variant in [v for v in VARIANTS if v[0] in args.variants.split(",")]:
                print(_line(measure(engine, size, dimensions, variant)), flush=True)
            _CACHE.clear()


def _line(figures: dict) -> str:
    return ("{size:>6} x {dimensions:>4}  {variant:<24} build {build_s:6.1f} s  concurrently {rebuild_concurrently_s:6.1f} s  "
            "index {index_mb:6.1f} MB  heap {heap_mb:6.1f} MB  "
            + "  ".join(f"ef_search {ef}: recall@10 {{recall_ef{ef}:.3f}} p50/p99 {{p50_ef{ef}_ms:.1f}}/{{p99_ef{ef}_ms:.1f}} ms"
                        for ef in EF_SEARCH) + "  "
            "insert/vector: no index {insert_no_index_ms:.2f} ms, one by one {insert_one_by_one_ms:.2f} ms, batched {insert_batched_ms:.2f} ms, "
            "2 connections {insert_2_connections_ms:.2f} ms, 4 connections {insert_4_connections_ms:.2f} ms").format(**figures)


if __name__ == "__main__":
    main()
