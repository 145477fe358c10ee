"""The sensors' decisions as JSON log lines, one per document: registered from the inbox, or put in a requested run."""

from __future__ import annotations

from typing import Mapping, Sequence

import dagster as dg

from ingest_pipeline.logs.format import structured_logger
from ingest_pipeline.orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG

# Sensor contexts log through Dagster's own console logger, which takes no formatter; these lines go
# through the package's JSON logger instead (the tick's summary stays in the UI's tick log).
_log = structured_logger("sensors")


def log_run_requests(ordered: Sequence[str], keys: Mapping[str, str], requests: Sequence[dg.RunRequest],
                     parse_jobs: Mapping[str, str] | None = None) -> None:
    """A line for every document of `keys` (document id -> partition key) naming the run request whose
    partition range covers it."""
    position = {key: index for index, key in enumerate(ordered)}
    for request in requests:
        first, last = position[request.tags[RANGE_START_TAG]], position[request.tags[RANGE_END_TAG]]
        assets = [key.to_user_string() for key in request.asset_selection] if request.asset_selection else "all"
        for doc_id, partition in keys.items():
            if first <= position[partition] <= last:
                _log.info(f"run requested for {doc_id}", extra={
                    "component": "sensor", "document_id": doc_id, "partition": partition,
                    "parse_job_id": (parse_jobs or {}).get(doc_id), "run_key": request.run_key, "assets": assets})


def log_registered(registered: Sequence[tuple[str, str]]) -> None:
    """A line for every (file name, document id) the inbox registered."""
    for name, doc_id in registered:
        _log.info(f"registered inbox file {name} as {doc_id}",
                  extra={"component": "sensor", "document_id": doc_id, "file_name": name})
