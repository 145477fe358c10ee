"""The Dagster logger that writes a run's lines in the project's one JSON format."""

from __future__ import annotations

import logging

import dagster as dg

from ingest_pipeline.logs.format import PACKAGE_LOGGER, json_handler


@dg.logger(
    config_schema={
        "log_level": dg.Field(str, is_required=False, default_value="INFO", description="The logger's threshold."),
        "name": dg.Field(str, is_required=False, default_value=f"{PACKAGE_LOGGER}.runs", description="Logger name."),
    },
    description="JSON lines on stderr with document_id, run_id and parse_job_id; secrets redacted.",
)
def json_lines_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config or {}
    level = logging.getLevelName(config.get("log_level", "INFO").upper())
    logger = logging.Logger(config.get("name", f"{PACKAGE_LOGGER}.runs"), level=level)
    logger.addHandler(json_handler())
    return logger
