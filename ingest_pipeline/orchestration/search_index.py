"""search_index: the HNSW indexes taking in newly published vectors, a step of its own that no ingest run waits
for, started by `index_upkeep_sensor` whenever a set is behind."""

import time
from dataclasses import astuple

import dagster as dg

from ingest_pipeline.embed.resource import EmbedderResource
from ingest_pipeline.orchestration.policies import transient_retry
from ingest_pipeline.store import embeddings, index_upkeep
from ingest_pipeline.store.embedding_sets import EmbeddingSet
from ingest_pipeline.store.index_upkeep import Upkeep
from ingest_pipeline.store.resource import PostgresResource

# Its own group: the ingest job selects the `ingest` group and must stay partitioned by document.
SEARCH_GROUP = "search"
INDEX_JOB = "index_upkeep"
# After a failed upkeep run (its retries spent), the sensor waits this long before asking for another.
RETRY_FAILED_AFTER_SECONDS = 300
# An unfinished upkeep run that holds no upkeep lock this long after its last change of status is taken for
# dead (a CLI's in-process run whose process was killed stays STARTED for good): another one is asked for.
ABANDONED_AFTER_SECONDS = 600
# Queued behind ingest runs: they make documents searchable; this only makes search faster.
_LOW_PRIORITY = {"dagster/priority": "-1"}
_UNFINISHED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


@dg.asset(group_name=SEARCH_GROUP, deps=["embeddings"], kinds={"pgvector"}, retry_policy=transient_retry,
          description="Each embedding set's HNSW index, holding every published vector: new ones moved in by "
                      "batches over several connections, or the index rebuilt when they are a fifth of it or "
                      "more. Search finds vectors not yet indexed by an exact scan, so no ingest waits for this.")
def search_index(context: dg.AssetExecutionContext, database: PostgresResource,
                 embedder: EmbedderResource) -> dg.MaterializeResult:
    done = index_upkeep.catch_up(database.engine, astuple(embedder.space))
    for found, upkeep in done:
        context.log.info(f"set {found.id} ({found.name}): {_summary(upkeep)}")
    return dg.MaterializeResult(metadata=upkeep_metadata(database, done))


def _summary(upkeep: Upkeep) -> str:
    if upkeep.skipped:
        return f"left as it is: {upkeep.skipped}"
    how = "rebuilt the index with" if upkeep.rebuilt else "moved into the index"
    waited = f" (after waiting {upkeep.waited_seconds:.1f} s for another upkeep)" if upkeep.waited_seconds >= 1 else ""
    return f"{how} {upkeep.moved} vectors in {upkeep.seconds:.1f} s{waited}"


def upkeep_metadata(database: PostgresResource, done: list[tuple[EmbeddingSet, Upkeep]]) -> dict:
    with database.engine.connect() as conn:
        sizes = {found.id: embeddings.index_bytes(conn, found.id) for found, _ in done}
    rows = "\n".join(f"| {found.id} | {found.name} | {'yes' if found.active else ''} | {upkeep.moved} | "
                     f"{'yes' if upkeep.rebuilt else ''} | {upkeep.seconds:.1f} | {(sizes[found.id] or 0) / 2**20:.1f} |"
                     for found, upkeep in done)
    return {
        "vectors_indexed": dg.MetadataValue.int(sum(upkeep.moved for _, upkeep in done)),
        "sets_rebuilt": dg.MetadataValue.int(sum(upkeep.rebuilt for _, upkeep in done)),
        "still_unindexed": dg.MetadataValue.int(sum(index_upkeep.unindexed_count(database.engine, found.id)
                                                    for found, _ in done)),
        "sets": dg.MetadataValue.md("| set | name | active | vectors indexed | rebuilt | seconds | index MB |\n"
                                    "|---|---|---|---|---|---|---|\n" + rows if done else "every set was up to date"),
    }


index_job = dg.define_asset_job(INDEX_JOB, selection=[search_index], tags=_LOW_PRIORITY,
                                description="Move newly published vectors into their sets' HNSW indexes.")


def index_upkeep_sensor_for(interval: int):
    @dg.sensor(name="index_upkeep_sensor", job=index_job, minimum_interval_seconds=interval,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Requests an index upkeep run when published vectors are not yet in their set's HNSW "
                           "index, one run at a time.")
    def index_upkeep_sensor(context: dg.SensorEvaluationContext, database: PostgresResource,
                            embedder: EmbedderResource) -> dg.SensorResult:
        behind = index_upkeep.sets_behind(database.engine, astuple(embedder.space))
        if not behind:
            return dg.SensorResult(skip_reason="every published vector is in its set's index")
        waiting = _reason_to_wait(context.instance, database)
        if waiting:
            return dg.SensorResult(skip_reason=waiting)
        names = ", ".join(found.name for found in behind)
        context.log.info(f"index upkeep requested for {names}")
        return dg.SensorResult(run_requests=[dg.RunRequest(tags={"ingest/sets_behind": names[:200]})])

    return index_upkeep_sensor


def _reason_to_wait(instance: dg.DagsterInstance, database: PostgresResource) -> str | None:
    """An upkeep run not yet finished takes in what is behind (unless it looks dead); one that failed lately
    is not retried at once."""
    records = instance.get_run_records(dg.RunsFilter(job_name=INDEX_JOB), limit=1)
    if not records:
        return None
    last = records[0]
    since = time.time() - last.update_timestamp.timestamp()
    if last.dagster_run.status in _UNFINISHED:
        if since < ABANDONED_AFTER_SECONDS or index_upkeep.upkeep_under_way(database.engine):
            return f"upkeep run {last.dagster_run.run_id} is under way"
        return None
    if last.dagster_run.status == dg.DagsterRunStatus.FAILURE and since < RETRY_FAILED_AFTER_SECONDS:
        return (f"upkeep run {last.dagster_run.run_id} failed {since:.0f} s ago: the next one in "
                f"{RETRY_FAILED_AFTER_SECONDS - since:.0f} s")
    return None
