"""Test helpers that register files and materialize the document assets the way the CLI does."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ingest_pipeline.domain.ids import Identity
from ingest_pipeline.intake.admit import register_file
from ingest_pipeline.orchestration.assets import document_assets
from ingest_pipeline.orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG, partition_keys
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION
from ingest_pipeline.service.application import Application


def register(app: Application, path: Path) -> str:
    return register_file(app.engine, app.store, path, identity=Identity.of_local_path(str(path)), source=str(path)).document.id


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def materialize(app: Application, instance: dg.DagsterInstance, ids: list[str],
                selection=None) -> dg.ExecuteInProcessResult:
    """One in-process run over the documents `ids` (their partitions added first), as `ingest-pipeline ingest` runs it."""
    keys = partition_keys(app.engine, ids)
    known = set(instance.get_dynamic_partitions(DOCUMENTS_PARTITION))
    instance.add_dynamic_partitions(DOCUMENTS_PARTITION, [k for k in keys if k not in known])
    partition = {"partition_key": keys[0]} if len(keys) == 1 else {
        "tags": {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}}
    return dg.materialize(document_assets, instance=instance, resources=app.resources, selection=selection,
                          raise_on_error=False, **partition)


def paragraph(topic: str, sentences: int = 6) -> str:
    """Distinct prose about `topic`, long enough to pass validation and to chunk."""
    return " ".join(f"Sentence {i} explains how the {topic} behaves under condition {i}." for i in range(sentences))
