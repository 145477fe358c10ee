"""Running the ingest job in process over document partitions, on the persistent Dagster instance."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator, Sequence

import dagster as dg

from ingest_pipeline.logs.format import OUTCOME_LOGGER, PACKAGE_LOGGER
from ingest_pipeline.orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG, partition_keys, partition_ranges
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION

# For the modules above orchestration (the API, the service) that hold an instance without importing Dagster.
DagsterInstance = dg.DagsterInstance
_STORAGE_MODULE = "module: ingest_pipeline.orchestration.instance_storage\n"
_OLD_STORAGE_MODULE = "module: ingest_pipeline.instance_storage\n"
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def open_instance(dagster_home: Path) -> dg.DagsterInstance:
    """The instance `dagster dev` sees when started with the same DAGSTER_HOME (created on first use)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    with _home_lock(dagster_home):
        config = dagster_home / "dagster.yaml"
        if not config.exists():
            shutil.copyfile(packaged_instance_config(), config)
        _follow_moved_storage(config)
        os.environ["DAGSTER_HOME"] = str(dagster_home)
        # One "planned" event per asset for a run over many partitions, not one per partition. (Dagster
        # then cannot mark single partitions failed; nor can it for any run over a range of partitions,
        # and the catalog, which `ingest-pipeline status` reads, is the source of truth.)
        os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
        instance = dg.DagsterInstance.get()
        instance.get_dynamic_partitions(DOCUMENTS_PARTITION)  # creates the storage tables while we hold the lock
    return instance


def _follow_moved_storage(config: Path) -> None:
    """An instance created before the storage module moved (ingest_pipeline.instance_storage) names it
    by its old path, which would no longer import: point it at the new one, keeping everything else."""
    text = config.read_text(encoding="utf-8")
    if _OLD_STORAGE_MODULE in text:
        config.write_text(text.replace(_OLD_STORAGE_MODULE, _STORAGE_MODULE), encoding="utf-8")


@contextmanager
def _home_lock(dagster_home: Path) -> Iterator[None]:
    """Two CLIs starting at once would both create the instance's tables (and add the same partitions):
    they take turns instead."""
    with open(dagster_home / ".ingest-pipeline.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def packaged_instance_config():
    return resources.files("ingest_pipeline.orchestration") / "instance" / "dagster.yaml"


def add_partitions(instance: dg.DagsterInstance, keys: Sequence[str]) -> list[str]:
    """Add the keys not yet known, in the order given; returns the ones added."""
    with _home_lock(Path(instance.root_directory)):
        known = set(instance.get_dynamic_partitions(DOCUMENTS_PARTITION))
        new = [key for key in dict.fromkeys(keys) if key not in known]
        if new:
            instance.add_dynamic_partitions(DOCUMENTS_PARTITION, new)
    return new


def run_job(job: dg.JobDefinition, instance: dg.DagsterInstance, start: str, end: str,
            quiet: bool = True, assets: Sequence[str] = ()) -> dg.ExecuteInProcessResult:
    """One in-process run of `job` (or of these of its assets) over the partition range; failures are
    reported, not raised."""
    with _outcome_lines_muted(quiet):
        return job.execute_in_process(
            instance=instance,
            tags={RANGE_START_TAG: start, RANGE_END_TAG: end},
            run_config=_QUIET if quiet else None,
            raise_on_error=False,
            asset_selection=[dg.AssetKey(name) for name in assets] or None,
        )


@contextmanager
def _outcome_lines_muted(quiet: bool) -> Iterator[None]:
    """A quiet run prints warnings only: its per-document lines for documents that went well too."""
    logger = logging.getLogger(f"{PACKAGE_LOGGER}.{OUTCOME_LOGGER}")
    previous = logger.level
    if quiet:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


def prepare_ingest(dagster_home: Path, resources: dict) -> tuple[dg.JobDefinition, dg.DagsterInstance]:
    """The ingest job and the instance to run it on: Dagster's imports, definitions and storage."""
    from ingest_pipeline.orchestration.code_location import INGEST_JOB, build_definitions

    return build_definitions(resources).resolve_job_def(INGEST_JOB), open_instance(dagster_home)


def launch_ingest(dagster_home: Path, document_ids: Sequence[str], resources: dict,
                  prepared: tuple[dg.JobDefinition, dg.DagsterInstance] | None = None,
                  assets: Sequence[str] = ()) -> list[dg.ExecuteInProcessResult]:
    """Add the documents' partitions and run the ingest job (or these of its assets) over them in as few runs
    as ranges allow (on `prepared`, from `prepare_ingest`, when the caller made it already)."""
    job, instance = prepared or prepare_ingest(dagster_home, resources)
    keys = partition_keys(resources["database"].engine, document_ids)
    add_partitions(instance, keys)
    ordered = instance.get_dynamic_partitions(DOCUMENTS_PARTITION)
    return [run_job(job, instance, start, end, assets=assets) for start, end in partition_ranges(ordered, keys)]


def run_index_upkeep(dagster_home: Path, resources: dict) -> dg.ExecuteInProcessResult:
    """One in-process run of the index upkeep job (the `search_index` asset) on the persistent instance."""
    from ingest_pipeline.orchestration.code_location import build_definitions
    from ingest_pipeline.orchestration.search_index import INDEX_JOB

    job = build_definitions(resources).resolve_job_def(INDEX_JOB)
    return job.execute_in_process(instance=open_instance(dagster_home), run_config=_QUIET, raise_on_error=False)
