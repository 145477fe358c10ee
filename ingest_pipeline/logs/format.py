"""The one log format of the API, the sensors and the runs: a JSON object per line, naming the document, run and parse job."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from ingest_pipeline.logs.redaction import STANDARD_ATTRIBUTES, RedactSecrets, known_secrets, redact_fields

PACKAGE_LOGGER = "ingest_pipeline"
# The key the JSON logger has on the Definitions: "console" replaces Dagster's colored console logger,
# and run config written for that logger (the CLI's quieter level) keeps working.
RUN_LOGGER = "console"
# Under PACKAGE_LOGGER: the line per document and stage that did not fail (see orchestration/metadata.py).
OUTCOME_LOGGER = "outcomes"
# Every line has these keys, null when the line concerns no document, run or parse job.
CORRELATION = ("document_id", "run_id", "parse_job_id")
PARTITION_TAG = "dagster/partition"
# Dagster's own record attributes: summarised into job/step/event, never dumped whole.
_DAGSTER_ATTRS = {"dagster_meta", "dagster_event", "dagster_event_batch_metadata"}
# uvicorn's copy of its message with terminal colour codes: noise in a log file.
_NOT_EXTRA = STANDARD_ATTRIBUTES | _DAGSTER_ATTRS | {"color_message"}


class JsonLineFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message, the correlation ids, then its extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        line = {"ts": _timestamp(record.created), "level": record.levelname, "logger": record.name,
                "message": meta.get("orig_message") or record.getMessage(), **dict.fromkeys(CORRELATION)}
        line.update(_dagster_fields(meta))
        line.update({name: value for name, value in vars(record).items() if name not in _NOT_EXTRA})
        if record.exc_info or record.exc_text:
            line["error"] = record.exc_text or self.formatException(record.exc_info)
        # A last pass over every field, nested ones too, after anything unusual became a string:
        # nothing that reached the line by another way keeps a secret, and the line stays valid JSON.
        plain = json.loads(json.dumps(line, default=str))
        return json.dumps(redact_fields(plain, known_secrets()), ensure_ascii=False)


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dagster_fields(meta: dict) -> dict:
    """What a record logged inside a run says about it: run, job, step, event and (single) partition."""
    if not meta:
        return {}
    tags = meta.get("job_tags") or {}
    event = meta.get("dagster_event")
    fields = {"run_id": meta.get("run_id"), "document_id": tags.get(PARTITION_TAG),
              "job": meta.get("job_name"), "step": meta.get("step_key")}
    if event is not None:
        fields["event"] = event.event_type_value
    return fields


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when the line is written (test capture, a redirected server)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def json_handler(level: int = logging.NOTSET) -> logging.Handler:
    handler = StderrHandler()
    handler.setLevel(level)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RedactSecrets())
    return handler


def structured_logger(name: str) -> logging.Logger:
    """`ingest_pipeline.<name>`, whose records are written as JSON lines on stderr.

    The handler goes once on the package logger, which stops propagating so that a root handler
    configured by someone else cannot print the same record again in another format."""
    package = logging.getLogger(PACKAGE_LOGGER)
    if not any(isinstance(handler, StderrHandler) for handler in package.handlers):
        package.addHandler(json_handler())
        package.setLevel(logging.INFO)
        package.propagate = False
    return logging.getLogger(f"{PACKAGE_LOGGER}.{name}")


def run_logger_config(log_level: str = "INFO") -> dict:
    """Run config that turns the JSON logger on: Dagster starts only the loggers the run config names."""
    return {"loggers": {RUN_LOGGER: {"config": {"log_level": log_level}}}}
