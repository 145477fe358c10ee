"""Index upkeep: a set's new vectors, published unindexed, moved into its HNSW index in batches over several
connections, or the index rebuilt when they are a large share of the set; search stays exact meanwhile.

No ingest waits for it: it runs as a step of its own (the `search_index` asset, or the CLI's background
`ingest-pipeline index`) once documents are published and searchable."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ingest_pipeline.store import embedding_sets, embeddings
from ingest_pipeline.store.embedding_sets import EmbeddingSet

# Vectors moved into the index per transaction: short transactions, few round trips.
UPKEEP_BATCH = 250
# Connections moving batches at once: pgvector inserts into one HNSW graph from several backends, and an
# insert waits on buffers and WAL as much as on a core; four gave 3.9x the vectors per second of one
# batched statement on 2 cores (benchmarks/vector_storage.py, 10k x 512).
UPKEEP_CONNECTIONS = 4
# Rebuild instead of inserting when the new vectors are at least this share of the indexed ones. Measured
# at m 24 / ef_construction 128 on the 100k-chunk scale store (512 dimensions, 2 cores):
# a build costs about 0.55 ms per vector of the whole set (100k in 55 s, two parallel workers), four
# connections' inserts 3.3 ms per new vector (2,540 in 8.3 s); inserting d new into n indexed costs less
# while d * 3.3 < (n + d) * 0.55, i.e. d < ~0.2 n. (A larger ef_construction slows both alike; the build now
# runs CONCURRENTLY, 1.3-2x as long, so that publishing goes on meanwhile: the share is kept, and fewer
# vectors wait outside the index.)
REBUILD_SHARE = 0.2
# One upkeep per set at a time, across processes: an advisory lock on (this, set id). A second one waits for
# the first, then takes in what that one left (vectors published after its rebuild began).
_UPKEEP_LOCK = 7_420_300
# How long a second upkeep waits for the first, in tries of a few seconds each: psycopg2 cannot interrupt a
# blocked call, and each try is a statement of its own, whose snapshot a concurrent index build waits for.
UPKEEP_WAIT_SECONDS, _TRY_SECONDS = 1800.0, 5
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class Upkeep:
    """What one upkeep did: vectors moved into the index, whether it rebuilt it, how long it took (of which
    how long it waited for another upkeep of the set)."""

    moved: int = 0
    rebuilt: bool = False
    seconds: float = 0.0
    waited_seconds: float = 0.0
    skipped: str | None = None


def sets_behind(engine: Engine, configured: tuple[str, str, int] | None = None) -> list[EmbeddingSet]:
    """Of the sets search answers from or may switch to (the active one, the configured one: embedder, model,
    dimensions), the indexable ones with vectors not yet in their HNSW index, or with vectors and no index (a
    rebuild that did not finish): the active set first. Other sets get vectors too (publishing attaches every
    set's cached ones), but nothing searches them until they are configured again."""
    with engine.connect() as conn:
        behind = [found for found in embedding_sets.all_sets(conn)
                  if (found.active or (found.embedder, found.model, found.dimensions) == configured)
                  and embeddings.is_indexable(found.dimensions) and _is_behind(conn, found.id)]
    return sorted(behind, key=lambda found: not found.active)


def _is_behind(conn, set_id: int) -> bool:
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM chunk_embeddings WHERE set_id = :s AND NOT indexed)"),
                    {"s": set_id}).scalar_one():
        return True
    return not embeddings.index_exists(conn, set_id) and conn.execute(
        text("SELECT EXISTS (SELECT 1 FROM chunk_embeddings WHERE set_id = :s)"), {"s": set_id}).scalar_one()


def catch_up(engine: Engine, configured: tuple[str, str, int] | None = None) -> list[tuple[EmbeddingSet, Upkeep]]:
    """Bring every set behind (`sets_behind`) up to date: what each set's upkeep did."""
    return [(found, index_new_vectors(engine, found.id, found.dimensions))
            for found in sets_behind(engine, configured)]


def upkeep_under_way(engine: Engine) -> bool:
    """Whether some session holds a set's upkeep lock: an upkeep is working (or waiting) right now."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2"
            " AND classid = :k AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
        ), {"k": _UPKEEP_LOCK}).scalar_one()


def unindexed_count(engine: Engine, set_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM chunk_embeddings WHERE set_id = :s AND NOT indexed"),
                            {"s": set_id}).scalar_one()


def index_new_vectors(engine: Engine, set_id: int, dimensions: int) -> Upkeep:
    """Bring every unindexed vector of the set into its HNSW index (none for a set too wide to index)."""
    if not embeddings.is_indexable(dimensions):
        return Upkeep(skipped=f"{dimensions} dimensions: searched exactly")
    started = time.perf_counter()
    with engine.connect() as holder:
        if not _lock(holder, set_id, started + UPKEEP_WAIT_SECONDS):
            return Upkeep(skipped=f"another upkeep held embedding set {set_id} for {UPKEEP_WAIT_SECONDS:.0f} s")
        waited = time.perf_counter() - started
        try:
            rebuild = _should_rebuild(engine, set_id)
            moved = _rebuild(engine, set_id, dimensions) if rebuild else _move_in_batches(engine, set_id)
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:k, :s)"), {"k": _UPKEEP_LOCK, "s": set_id})
            holder.commit()
    return Upkeep(moved, rebuild, time.perf_counter() - started, waited)


def _lock(holder, set_id: int, deadline: float) -> bool:
    """The set's upkeep lock, waited for in tries of _TRY_SECONDS until the deadline."""
    holder.execute(text("SELECT set_config('lock_timeout', :t, false)"), {"t": f"{int(_TRY_SECONDS * 1000)}ms"})
    holder.commit()  # a session setting made in a transaction that rolls back (a try that timed out) is undone
    try:
        while True:
            try:
                holder.execute(text("SELECT pg_advisory_lock(:k, :s)"), {"k": _UPKEEP_LOCK, "s": set_id})
                return True
            except DBAPIError as error:
                holder.rollback()
                if getattr(error.orig, "pgcode", None) != _LOCK_NOT_AVAILABLE:
                    raise
                if time.perf_counter() >= deadline:
                    return False
    finally:
        holder.execute(text("RESET lock_timeout"))
        holder.commit()


def _should_rebuild(engine: Engine, set_id: int) -> bool:
    """No index (a rebuild that did not finish), or new vectors of at least REBUILD_SHARE of the indexed
    ones (counting no further than that)."""
    with engine.connect() as conn:
        if not embeddings.index_exists(conn, set_id):
            return True
    new = unindexed_count(engine, set_id)
    if new == 0:
        return False
    with engine.connect() as conn:
        enough = int(new / REBUILD_SHARE)
        indexed = conn.execute(text(
            "SELECT count(*) FROM (SELECT 1 FROM chunk_embeddings WHERE set_id = :s AND indexed LIMIT :n) AS found"
        ), {"s": set_id, "n": enough}).scalar_one()
    return indexed < enough


def _rebuild(engine: Engine, set_id: int, dimensions: int) -> int:
    """Drop the index, take every vector of the set into it, build it again, concurrently: search (an exact
    scan meanwhile) and publishing wait only for the drop, not for the build."""
    with engine.begin() as conn:
        embeddings.drop_index(conn, set_id)
        moved = conn.execute(text("UPDATE chunk_embeddings SET indexed = true WHERE set_id = :s AND NOT indexed"),
                             {"s": set_id}).rowcount
    _vacuum(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        embeddings.build_index_concurrently(conn, set_id, dimensions)
    return moved


def _vacuum(engine: Engine) -> None:
    """Clear the rows the move left behind while the set has no HNSW index to clean (cheap now, a scan of the
    whole graph later), and give the planner the table's new size. Until autovacuum came, every search
    visited each old row through the unindexed-rows index: 99 ms p50 instead of 10 at 50k vectors."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) chunk_embeddings")


def _move_in_batches(engine: Engine, set_id: int) -> int:
    with ThreadPoolExecutor(UPKEEP_CONNECTIONS) as pool:
        return sum(pool.map(lambda _: _move_until_done(engine, set_id), range(UPKEEP_CONNECTIONS)))


def _move_until_done(engine: Engine, set_id: int) -> int:
    """Batches until none is left; SKIP LOCKED gives each connection rows no other one holds."""
    moved = 0
    while True:
        with engine.begin() as conn:
            count = conn.execute(text(
                "UPDATE chunk_embeddings e SET indexed = true FROM ("
                " SELECT chunk_id FROM chunk_embeddings WHERE set_id = :s AND NOT indexed"
                " LIMIT :n FOR UPDATE SKIP LOCKED) AS batch "
                "WHERE e.set_id = :s AND e.chunk_id = batch.chunk_id"
            ), {"s": set_id, "n": UPKEEP_BATCH}).rowcount
        if count == 0:
            return moved
        moved += count
