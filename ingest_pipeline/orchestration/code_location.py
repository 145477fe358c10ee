"""The code location's parts: the document assets, the search index, the jobs, the sensors and the in-process executor."""

import dagster as dg

from ingest_pipeline.logs.format import RUN_LOGGER
from ingest_pipeline.orchestration.assets import document_assets
from ingest_pipeline.orchestration.corpus_report import corpus_report
from ingest_pipeline.orchestration.failed_documents import failed_documents
from ingest_pipeline.orchestration.loggers import json_lines_logger
from ingest_pipeline.orchestration.policies import INGEST_GROUP
from ingest_pipeline.orchestration.search_index import index_job, index_upkeep_sensor_for, search_index
from ingest_pipeline.orchestration.sensors import (
    SENSOR_INTERVAL_SECONDS,
    inbox_sensor_for,
    parse_completion_sensor_for,
    uploads_sensor_for,
)

INGEST_JOB = "ingest_documents"

ingest_job = dg.define_asset_job(
    INGEST_JOB,
    selection=dg.AssetSelection.groups(INGEST_GROUP),
    description="Submit, parse, validate, chunk and embed the selected documents, many documents per run.",
)


def build_definitions(resources: dict, sensor_interval: int = SENSOR_INTERVAL_SECONDS) -> dg.Definitions:
    return dg.Definitions(
        assets=[*document_assets, search_index, corpus_report, failed_documents],
        jobs=[ingest_job, index_job],
        sensors=[uploads_sensor_for(ingest_job, sensor_interval), inbox_sensor_for(sensor_interval),
                 parse_completion_sensor_for(ingest_job, sensor_interval), index_upkeep_sensor_for(sensor_interval)],
        resources=resources,
        executor=dg.in_process_executor,
        # JSON log lines (document_id, run_id, parse_job_id) for runs whose config names this logger.
        loggers={RUN_LOGGER: json_lines_logger},
    )
