"""The code location: the document assets, the ingest job and the resources configured from the environment."""

import dagster as dg

from ingest_pipeline.assets.corpus_report import corpus_report
from ingest_pipeline.assets.documents import document_assets
from ingest_pipeline.assets.policies import INGEST_GROUP
from ingest_pipeline.log_format import RUN_LOGGER, json_lines_logger
from ingest_pipeline.resources.wiring import build_resources
from ingest_pipeline.sensors import SENSOR_INTERVAL_SECONDS, inbox_sensor_for, parse_completion_sensor_for, uploads_sensor_for
from ingest_pipeline.settings import Settings

INGEST_JOB = "ingest_documents"

ingest_job = dg.define_asset_job(
    INGEST_JOB,
    selection=dg.AssetSelection.groups(INGEST_GROUP),
    description="Submit, parse, validate, chunk and embed the selected documents, many documents per run.",
)


def build_definitions(resources: dict, sensor_interval: int = SENSOR_INTERVAL_SECONDS) -> dg.Definitions:
    return dg.Definitions(
        assets=[*document_assets, corpus_report],
        jobs=[ingest_job],
        sensors=[uploads_sensor_for(ingest_job, sensor_interval), inbox_sensor_for(sensor_interval),
                 parse_completion_sensor_for(ingest_job, sensor_interval)],
        resources=resources,
        executor=dg.in_process_executor,
        # JSON log lines (document_id, run_id, parse_job_id) for runs whose config names this logger.
        loggers={RUN_LOGGER: json_lines_logger},
    )


_settings = Settings.from_env()
defs = build_definitions(build_resources(_settings, secrets_as_env_vars=True), _settings.sensor_interval)
