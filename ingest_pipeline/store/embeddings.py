"""Embedding sets (one per embedder, model and dimensions) and the content-addressed vector cache."""

from __future__ import annotations

import io
import logging
import struct
from typing import Iterable, Sequence

import numpy as np
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

# HNSW indexes here are halfvec ones (pgvector 0.7+), which take up to 4,000 dimensions; wider sets are
# scanned exactly. Half precision halves the index and its build time at the same recall@10
# (benchmarks/vector_storage.py); the column keeps full-precision vectors, which re-score the hits.
MAX_INDEXED_DIMENSIONS = 4000
# The graph's links per node and the candidate list while building it (pgvector's defaults: 16 and 64).
# Measured on the scale curve's store (100,111 chunks of text, hashing embedder, 512 dimensions; queries of
# 8 words from stored chunks; recall@10 against an exact scan): 16/64 reached 0.870 at ef_search 400 and
# 0.917 at 800, built in 24 s; 24/128 reached 0.959 at 800 (p99 35 ms), built in 54 s, 164 MB instead of
# 137 MB; 32/128 0.959 at 600, built in 71 s. At 24/128 three scale-curve runs gave 0.964, 0.959 and 0.947
# (parallel builds differ run to run): ef_construction 200 buys a margin, paid only by the index upkeep, which
# no ingest waits for (a build and each insert take longer; search does not). An index built before keeps its
# settings until rebuilt.
HNSW_M = 24
HNSW_EF_CONSTRUCTION = 200
# An HNSW build keeps its graph in maintenance_work_mem and slows down sharply once it spills;
# the most a build asks for.
INDEX_BUILD_MEMORY = "512MB"
# SQLSTATEs of a shared memory segment that could not be sized: disk_full (ENOSPC), out_of_memory.
_SHORT_OF_SHARED_MEMORY = ("53100", "53200")
# Serialises creating and dropping one set's index across runs (plus the set id).
_INDEX_LOCK = 7_420_100
# COPY's binary header: signature, flags, header extension length.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
log = logging.getLogger(__name__)


def ensure_set(conn: Connection, embedder: str, model: str, dimensions: int) -> int:
    """The id of this embedding set, creating it and its (empty, so instant) HNSW index on first use. An
    existing set's index is the upkeep's: one it dropped to rebuild is never built by an ingest, which
    would hold up publishing for the whole build (store/index_upkeep.py)."""
    params = {"embedder": embedder, "model": model, "dimensions": dimensions}
    set_id = conn.execute(text(
        "INSERT INTO embedding_sets (embedder, model, dimensions) VALUES (:embedder, :model, :dimensions) "
        "ON CONFLICT (embedder, model, dimensions) DO NOTHING RETURNING id"
    ), params).scalar()
    if set_id is not None:
        if dimensions > MAX_INDEXED_DIMENSIONS:
            log.warning("embedding set %s has %s dimensions: pgvector's HNSW index (halfvec) takes at most %s, "
                        "so search scans it exactly", set_id, dimensions, MAX_INDEXED_DIMENSIONS)
        ensure_index(conn, set_id, dimensions)
        return set_id
    return conn.execute(text(
        "SELECT id FROM embedding_sets WHERE embedder = :embedder AND model = :model AND dimensions = :dimensions"
    ), params).scalar_one()


def ensure_index(conn: Connection, set_id: int, dimensions: int) -> None:
    """Create the set's HNSW index if it is missing, in the caller's transaction (a new set's, empty)."""
    if not is_indexable(dimensions) or index_exists(conn, set_id):
        return  # checked first: CREATE INDEX IF NOT EXISTS would still wait for every writer
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INDEX_LOCK + set_id})
    _build(conn, set_id, dimensions, concurrently=False)


def build_index_concurrently(conn: Connection, set_id: int, dimensions: int) -> None:
    """Build the set's HNSW index on an AUTOCOMMIT connection with CREATE INDEX CONCURRENTLY, so that publishing
    (inserts into chunk_embeddings) goes on during the build; a plain build holds writers for all of it (about a
    minute at 100k vectors). A failed build leaves no invalid index behind."""
    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _INDEX_LOCK + set_id})
    try:
        if not index_exists(conn, set_id):
            _build(conn, set_id, dimensions, concurrently=True)
    finally:
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _INDEX_LOCK + set_id})
        conn.exec_driver_sql("RESET maintenance_work_mem")
        conn.exec_driver_sql("RESET max_parallel_maintenance_workers")


def _build(conn: Connection, set_id: int, dimensions: int, concurrently: bool) -> None:
    local = not concurrently  # a transaction's own settings, or the AUTOCOMMIT session's (reset by the caller)
    # Enough for the graph (1.5 x the table's heap covers vectors plus neighbour lists), up to
    # INDEX_BUILD_MEMORY, never less than the operator gave the role or database: parallel workers
    # take all of it as shared memory up front, which costs time and /dev/shm on a small set.
    conn.execute(text(
        "SELECT set_config('maintenance_work_mem', greatest(pg_size_bytes(current_setting('maintenance_work_mem')), "
        "least(pg_size_bytes(:most), pg_relation_size('chunk_embeddings') * 3 / 2)) / 1024 || 'kB', :local)"
    ), {"most": INDEX_BUILD_MEMORY, "local": local})
    # A partial expression index: one column holds every set, each set gets its own typed index, over the
    # rows the upkeep step has moved into it (store/index_upkeep.py); search scans the others exactly.
    create = (f"CREATE INDEX {'CONCURRENTLY ' if concurrently else ''}IF NOT EXISTS {_index_name(set_id)} "
              f"ON chunk_embeddings USING hnsw (({indexed_expression('embedding', dimensions)}) halfvec_cosine_ops) "
              f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) WHERE set_id = {int(set_id)} AND indexed")
    try:
        if concurrently:
            conn.exec_driver_sql(create)
        else:
            with conn.begin_nested():
                conn.exec_driver_sql(create)
    except DBAPIError as error:
        if concurrently:  # a failed concurrent build leaves its index, invalid, in the catalog
            conn.exec_driver_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {_index_name(set_id)}")
        # Parallel workers share the graph in maintenance_work_mem of shared memory, which a container
        # may not have (Docker gives /dev/shm 64 MB): build in one process, as pgvector would on a small set.
        if getattr(error.orig, "pgcode", None) not in _SHORT_OF_SHARED_MEMORY:
            raise
        log.warning("building the HNSW index of embedding set %s with parallel workers failed (%s); building it "
                    "without them, which takes longer. Give the Postgres server more shared memory (/dev/shm; "
                    "Docker: shm_size) to build in parallel.", set_id, str(error.orig).strip())
        conn.execute(text(f"SET {'LOCAL ' if local else ''}max_parallel_maintenance_workers = 0"))
        conn.exec_driver_sql(create)


def indexed_expression(column: str, dimensions: int) -> str:
    """What a set's HNSW index holds: its vectors as half precision (search must order by the same)."""
    return f"{column}::halfvec({int(dimensions)})"


def is_indexable(dimensions: int) -> bool:
    return dimensions <= MAX_INDEXED_DIMENSIONS


def drop_index(conn: Connection, set_id: int) -> None:
    """Take the set's index away before a rebuild: building it is many times faster than inserting most
    of its vectors one by one. Search scans the set exactly meanwhile."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INDEX_LOCK + set_id})
    conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_index_name(set_id)}")


def index_exists(conn: Connection, set_id: int) -> bool:
    return conn.execute(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": _index_name(set_id)}).scalar_one()


def index_bytes(conn: Connection, set_id: int) -> int | None:
    """The size of the set's HNSW index on disk; None when it has none (too wide, or a rebuild under way)."""
    return conn.execute(text("SELECT pg_relation_size(to_regclass(:name))"), {"name": _index_name(set_id)}).scalar()


def _index_name(set_id: int) -> str:
    return f"chunk_embeddings_hnsw_{int(set_id)}"


def cached(conn: Connection, set_id: int, hashes: Iterable[str]) -> set[str]:
    """Which of these text hashes already have a vector in the set."""
    return set(conn.execute(
        text("SELECT text_hash FROM embedding_cache WHERE set_id = :set AND text_hash = ANY(:hashes)"),
        {"set": set_id, "hashes": list(set(hashes))},
    ).scalars())


def store(conn: Connection, set_id: int, vectors: Sequence[tuple[str, Sequence[float]]]) -> None:
    """Add (text hash, vector) pairs to the cache; a hash stored concurrently is kept as it is.

    Vectors travel as binary COPY (pgvector's float4 wire format) into a session-local table:
    formatting and parsing millions of floats as text cost more than the rest of the stage.
    """
    if not vectors:
        return
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS incoming_vectors (text_hash text, embedding vector) "
                       "ON COMMIT DELETE ROWS")
        cursor.copy_expert("COPY incoming_vectors FROM STDIN WITH (FORMAT binary)", io.BytesIO(copy_payload(vectors)))
        cursor.execute("INSERT INTO embedding_cache (set_id, text_hash, embedding) "
                       "SELECT %s, text_hash, embedding FROM incoming_vectors ON CONFLICT DO NOTHING", (set_id,))
        cursor.execute("DELETE FROM incoming_vectors")
    finally:
        cursor.close()


def copy_payload(vectors: Iterable[tuple[str, Sequence[float]]]) -> bytes:
    """COPY binary rows of (text_hash text, embedding vector): dimensions, a zero, big-endian float4s."""
    parts = [_COPY_HEADER]
    for digest, vector in vectors:
        name = digest.encode("utf-8")
        floats = np.asarray(vector, dtype=">f4")
        parts.append(struct.pack("!hi", 2, len(name)) + name
                     + struct.pack("!ihh", 4 + 4 * len(floats), len(floats), 0) + floats.tobytes())
    parts.append(struct.pack("!h", -1))
    return b"".join(parts)


def vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def find_set(conn: Connection, embedder: str, model: str, dimensions: int) -> int | None:
    return conn.execute(text(
        "SELECT id FROM embedding_sets WHERE embedder = :embedder AND model = :model AND dimensions = :dimensions"
    ), {"embedder": embedder, "model": model, "dimensions": dimensions}).scalar()


def counts_by_document(conn: Connection, set_id: int | None) -> dict[str, int]:
    """Searchable vectors per document in one set."""
    if set_id is None:
        return {}
    rows = conn.execute(text(
        "SELECT c.document_id, count(*) FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id "
        "WHERE e.set_id = :set GROUP BY c.document_id"
    ), {"set": set_id})
    return {doc: int(n) for doc, n in rows}
