"""Sensors that start ingest runs by themselves: for new uploads, the inbox folder and finished parse jobs."""

import hashlib
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import dagster as dg
from sqlalchemy import Engine

from ingest_pipeline.circuits.breaker import open_circuits
from ingest_pipeline.domain.statuses import STAGES, DocumentStatus, Stage
from ingest_pipeline.intake.resource import InboxResource
from ingest_pipeline.logs.format import run_logger_config
from ingest_pipeline.orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG, partition_keys, partition_ranges
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION, documents_partitions
from ingest_pipeline.orchestration.sensor_log import log_registered, log_run_requests
from ingest_pipeline.parse.parsers import AsynchronousParser
from ingest_pipeline.parse.resource import ParserResource
from ingest_pipeline.parse.tracking import watch
from ingest_pipeline.store import documents
from ingest_pipeline.store.resource import PostgresResource

# Partitions added through a SensorResult cost ~14 ms each: a few hundred per tick keeps a tick short.
MAX_DOCUMENTS_PER_TICK = 200
SENSOR_INTERVAL_SECONDS = 5
# Below the daemon's own 5 s loop, so the parse-completion sensor is evaluated at every pass: Dagster counts
# the interval from the start of the last evaluation, which here lasts most of a pass.
COMPLETION_MIN_INTERVAL_SECONDS = 1


def _keys(stages: Sequence[Stage]) -> list[dg.AssetKey]:
    return [dg.AssetKey(str(stage)) for stage in stages]


# With a parser service, intake runs end at the submission; runs for finished jobs pick up from there.
SUBMIT_SELECTION = _keys(STAGES[:STAGES.index(Stage.PARSE_JOB) + 1])
FETCH_SELECTION = _keys(STAGES[STAGES.index(Stage.PARSED_TEXT):])
RESUBMIT_SELECTION = _keys(STAGES[STAGES.index(Stage.PARSE_JOB):])


def uploads_sensor_for(job, interval: int = SENSOR_INTERVAL_SECONDS):
    @dg.sensor(name="uploads_sensor", job=job, minimum_interval_seconds=interval,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Registers partitions for newly uploaded documents and requests few runs for them.")
    def uploads_sensor(context: dg.SensorEvaluationContext, database: PostgresResource,
                       parser: ParserResource) -> dg.SensorResult:
        after = int(context.cursor or 0)
        with database.engine.begin() as conn:
            paused = [circuit.provider for circuit in open_circuits(conn)]
            resumed = documents.resume_paused(conn, paused)  # their provider answers again (or may): a new try
        if resumed:
            context.log.info(f"{len(resumed)} document(s) paused for a provider are queued again")
        with database.engine.begin() as conn:
            queued = documents.queued_since(conn, after, MAX_DOCUMENTS_PER_TICK)
        if not queued:
            return dg.SensorResult(skip_reason="no newly registered documents")
        submit_only = set()
        if isinstance(parser, AsynchronousParser):
            with database.engine.connect() as conn:
                docs = documents.get_many(conn, [doc_id for doc_id, _, _ in queued])
            submit_only = {doc.id for doc in docs if doc.status is DocumentStatus.REGISTERED}
        return ingest_request(context.instance, database.engine, queued, submit_only)

    return uploads_sensor


def ingest_request(instance: dg.DagsterInstance, engine: Engine, queued: list[tuple[str, int, str]],
                   submit_only: set[str] = frozenset()) -> dg.SensorResult:
    """Add the documents' partitions and request one run per partition range, in the same tick.

    Documents in `submit_only` go as far as their parse job (a later run fetches the result).
    The run key holds each document's sha256 and intake number, so a new version or a re-drive
    gets a new run and nothing is requested twice."""
    ids = [doc_id for doc_id, _, _ in queued]
    partitions = _partitions_for(instance, engine, ids)
    digest = _digest(f"{d}:{sha}:{seq}" for d, seq, sha in queued)
    submit = [doc_id for doc_id in ids if doc_id in submit_only]
    rest = [doc_id for doc_id in ids if doc_id not in submit_only]
    return dg.SensorResult(
        run_requests=(range_requests(partitions, submit, f"submit-{digest}", SUBMIT_SELECTION)
                      + range_requests(partitions, rest, digest, None)),
        dynamic_partitions_requests=partitions.add,
        cursor=str(max(seq for _, seq, _ in queued)),
    )


@dataclass(frozen=True)
class _Partitions:
    ordered: list[str]  # every partition key, in partition order, once the new ones are added
    key_of: dict[str, str]  # document id -> its partition key
    add: list  # the request adding the keys not yet known


def _partitions_for(instance: dg.DagsterInstance, engine: Engine, ids: list[str]) -> _Partitions:
    """The documents' partition keys, the partition order once they are added, and the request adding them."""
    key_of = dict(zip(ids, partition_keys(engine, ids)))
    known = instance.get_dynamic_partitions(DOCUMENTS_PARTITION)
    new = [key for key in dict.fromkeys(key_of.values()) if key not in set(known)]
    return _Partitions(list(known) + new, key_of, [documents_partitions.build_add_request(new)] if new else [])


def range_requests(partitions: _Partitions, ids: list[str], key: str, selection: list[dg.AssetKey] | None,
                   parse_jobs: Mapping[str, str] | None = None) -> list[dg.RunRequest]:
    """One run per partition range covering `ids`; the run key ends with `key`. Each document gets a log line."""
    # Dagster starts only the loggers a run's config names: this one writes the JSON log lines.
    targets = [partitions.key_of[doc_id] for doc_id in ids]
    requests = [dg.RunRequest(run_key=f"{start}..{end}:{key}", asset_selection=selection,
                              tags={RANGE_START_TAG: start, RANGE_END_TAG: end}, run_config=run_logger_config())
                for start, end in partition_ranges(partitions.ordered, targets)]
    log_run_requests(partitions.ordered, {doc_id: partitions.key_of[doc_id] for doc_id in ids}, requests, parse_jobs)
    return requests


def _digest(parts) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def inbox_sensor_for(interval: int = SENSOR_INTERVAL_SECONDS):
    @dg.sensor(name="inbox_sensor", minimum_interval_seconds=interval,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Registers files dropped into the inbox folder once they are fully written.")
    def inbox_sensor(context: dg.SensorEvaluationContext, inbox: InboxResource) -> dg.SensorResult:
        report = inbox.collect()
        for line in report.lines():
            context.log.info(line)
        log_registered(report.registered)
        return dg.SensorResult(skip_reason=report.summary())

    return inbox_sensor


def parse_completion_sensor_for(job, interval: int = SENSOR_INTERVAL_SECONDS):
    """Evaluated at every pass of Dagster's sensor daemon (one about every 5 s); each evaluation watches for
    finished jobs for up to the parser's `watch_seconds`, but never past `interval` - 1 s, so the other
    sensors still tick on time."""
    @dg.sensor(name="parse_completion_sensor", job=job, minimum_interval_seconds=COMPLETION_MIN_INTERVAL_SECONDS,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Turns parse-job webhooks (and status checks of silent jobs) into runs that fetch the "
                           "results, as soon as one job finishes; submits stuck jobs again.")
    def parse_completion_sensor(context: dg.SensorEvaluationContext, database: PostgresResource,
                                parser: ParserResource) -> dg.SensorResult:
        if not isinstance(parser, AsynchronousParser):
            return dg.SensorResult(skip_reason="the configured parser works inside the run: no jobs to follow")
        report = watch(database.engine, parser, max(0.0, min(parser.watch_seconds, interval - 1.0)))
        for note in report.notes:
            context.log.warning(note)
        partitions = _partitions_for(context.instance, database.engine, [d for d, _ in report.fetch + report.resubmit])
        requests = []
        # Each job is claimed by one pass only (until its run is overdue), so job ids make unique run keys.
        for name, waiting, selection in (("parsed", report.fetch, FETCH_SELECTION),
                                         ("resubmit", report.resubmit, RESUBMIT_SELECTION)):
            if waiting:
                key = f"{name}-" + _digest(sorted({job for _, job in waiting}) + [str(time.time())])
                requests += range_requests(partitions, [doc for doc, _ in waiting], key, selection, dict(waiting))
        return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=partitions.add,
                               skip_reason=None if requests else report.summary())

    return parse_completion_sensor
