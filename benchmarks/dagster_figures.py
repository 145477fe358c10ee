"""What one of our ingests recorded in its Dagster instance: seconds per step and the rate budget's wait."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

from ingest_pipeline.orchestration.partitions import RANGE_START_TAG, partition_keys
from ingest_pipeline.settings import Settings
from ingest_pipeline.store.engine import get_engine

EMBEDDINGS_STEP = "embeddings"
BUDGET_WAIT_KEY = "rate_budget_wait_seconds"
# Reading sets INGEST_* variables process-wide; two measured ingests may finish at once (benchmarks.rate_limits).
_READING = threading.Lock()
_PAGE = 1000


def ours_run_figures(dagster_home: Path, since: float, settings: dict[str, str],
                     document_ids: Sequence[str]) -> tuple[dict[str, float], float | None]:
    """(seconds per step, seconds the embeddings waited in the rate budget) of the runs made since `since`
    over these documents; the wait is None when no run recorded it (a rate budget that does not report it).

    `settings` (the run's INGEST_* variables) are in the environment while the instance is read, for an
    instance configuration that finds its storage through them. The runs are told apart by their first
    document, so two processes sharing one database each get their own figures.
    """
    import dagster as dg

    if not (dagster_home / "dagster.yaml").exists() or not document_ids:
        return {}, None  # nothing to do, so no run: a re-ingest of unchanged files
    with _READING, _environment(settings), dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        created_after = datetime.fromtimestamp(since, tz=timezone.utc)
        stored = Settings.from_env()  # the run's tags name partitions: the documents' keys
        keys = partition_keys(get_engine(stored.database_url, stored.home), list(document_ids))
        records = instance.get_run_records(dg.RunsFilter(created_after=created_after, tags={RANGE_START_TAG: keys}))
        run_ids = {record.dagster_run.run_id for record in records if record.dagster_run.status.value != "NOT_STARTED"}
        return _step_seconds(dg, instance, run_ids), _budget_wait(dg, instance, run_ids, since)


def _step_seconds(dg, instance, run_ids: set[str]) -> dict[str, float]:
    wanted = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    totals: dict[str, float] = {}
    for run_id in run_ids:
        starts: dict[str, float] = {}
        for entry in instance.all_logs(run_id, of_type=wanted):
            event = entry.dagster_event
            if event.event_type is dg.DagsterEventType.STEP_START:
                starts.setdefault(event.step_key, entry.timestamp)
            elif event.step_key in starts:
                totals[event.step_key] = totals.get(event.step_key, 0.0) + entry.timestamp - starts.pop(event.step_key)
    return totals


def _budget_wait(dg, instance, run_ids: set[str], since: float) -> float | None:
    """Dagster copies a run's metadata into every partition's materialization: one value per run, summed."""
    per_run: dict[str, float | None] = {}
    records_filter = dg.AssetRecordsFilter(asset_key=dg.AssetKey(EMBEDDINGS_STEP), after_timestamp=since)
    cursor = None
    while True:
        page = instance.fetch_materializations(records_filter, limit=_PAGE, cursor=cursor, ascending=True)
        for record in page.records:
            if record.run_id in run_ids and record.run_id not in per_run:
                value = record.asset_materialization.metadata.get(BUDGET_WAIT_KEY)
                per_run[record.run_id] = None if value is None else float(value.value)
        if not page.has_more:
            break
        cursor = page.cursor
    waits = [wait for wait in per_run.values() if wait is not None]
    return sum(waits) if waits else None


@contextmanager
def _environment(settings: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
