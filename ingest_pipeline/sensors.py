"""Sensors that start ingest runs by themselves: for newly registered documents and for the inbox folder."""

import hashlib

import dagster as dg

from ingest_pipeline.assets.policies import DOCUMENTS_PARTITION, documents_partitions
from ingest_pipeline.catalog import documents
from ingest_pipeline.inbox import InboxResource
from ingest_pipeline.resources.database import PostgresResource
from ingest_pipeline.runs import RANGE_END_TAG, RANGE_START_TAG, partition_ranges

# Partitions added through a SensorResult cost ~14 ms each: a few hundred per tick keeps a tick short.
MAX_DOCUMENTS_PER_TICK = 200
SENSOR_INTERVAL_SECONDS = 5


def uploads_sensor_for(job, interval: int = SENSOR_INTERVAL_SECONDS):
    @dg.sensor(name="uploads_sensor", job=job, minimum_interval_seconds=interval,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Registers partitions for newly uploaded documents and requests few runs for them.")
    def uploads_sensor(context: dg.SensorEvaluationContext, database: PostgresResource) -> dg.SensorResult:
        after = int(context.cursor or 0)
        with database.engine.begin() as conn:
            queued = documents.queued_since(conn, after, MAX_DOCUMENTS_PER_TICK)
        if not queued:
            return dg.SensorResult(skip_reason="no newly registered documents")
        return ingest_request(context.instance, queued)

    return uploads_sensor


def ingest_request(instance: dg.DagsterInstance, queued: list[tuple[str, int, str]]) -> dg.SensorResult:
    """Add the documents' partitions and request one run per partition range, in the same tick.

    The run key holds each document's sha256 and intake number, so a new version or a re-drive
    gets a new run and nothing is requested twice."""
    ids = [doc_id for doc_id, _, _ in queued]
    known = instance.get_dynamic_partitions(DOCUMENTS_PARTITION)
    new = [doc_id for doc_id in ids if doc_id not in set(known)]
    digest = hashlib.sha256("|".join(f"{d}:{sha}:{seq}" for d, seq, sha in queued).encode()).hexdigest()[:16]
    requests = [
        dg.RunRequest(run_key=f"{start}..{end}:{digest}", tags={RANGE_START_TAG: start, RANGE_END_TAG: end})
        for start, end in partition_ranges(list(known) + new, ids)
    ]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[documents_partitions.build_add_request(new)] if new else [],
        cursor=str(max(seq for _, seq, _ in queued)),
    )


def inbox_sensor_for(interval: int = SENSOR_INTERVAL_SECONDS):
    @dg.sensor(name="inbox_sensor", minimum_interval_seconds=interval,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Registers files dropped into the inbox folder once they are fully written.")
    def inbox_sensor(context: dg.SensorEvaluationContext, inbox: InboxResource) -> dg.SensorResult:
        report = inbox.collect()
        for line in report.lines():
            context.log.info(line)
        return dg.SensorResult(skip_reason=report.summary())

    return inbox_sensor
