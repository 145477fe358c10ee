"""Each document's story on its own partition: on every stage's per-partition materialization, and as an
AssetObservation where its way through the run ended or turned, the observations stored in one batch."""

from __future__ import annotations

from typing import Callable, Sequence

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventBatchMetadata, generate_event_batch_id
from sqlalchemy import Engine

from ingest_pipeline.domain.statuses import STAGES, DocumentStatus
from ingest_pipeline.orchestration.runner import DONE, UP_TO_DATE, Outcome
from ingest_pipeline.store import documents
from ingest_pipeline.store.documents import Document

# Facts the observation shows under names of its own (or not at all: a preview goes as Markdown).
_SHOWN_APART = {"preview", "chunks", "tokens", "pages", "cost_usd", "duplicate_of"}
SIGNIFICANT_DIGITS = 4
# The stage whose observation tells how a document that went all the way ended.
_LAST_STAGE = dg.AssetKey(str(STAGES[-1]))
_CELL_CHARS = 400


def redrive_hint(doc: Document) -> str:
    """How to send a failed document back through the pipeline, from its failed stage."""
    return (f"`ingest-pipeline retry {doc.id}` (or `ingest-pipeline retry --failed`, or "
            f"`POST /documents/{doc.id}/retry`): it starts again at {doc.failed_stage or 'the top'}")


def seconds(value: float) -> dg.MetadataValue:
    """A duration as a float of seconds, to a few significant digits (never rounded down to 0)."""
    return dg.MetadataValue.float(float(f"{value:.{SIGNIFICANT_DIGITS}g}"))


def document_story(doc: Document | None, outcome: Outcome) -> dict:
    """What one stage did to one document, and where the document stands now, as typed metadata."""
    story: dict = {"outcome": dg.MetadataValue.text(outcome.state), "duration_seconds": seconds(outcome.seconds)}
    if outcome.note:
        story["note"] = dg.MetadataValue.text(outcome.note)
    if doc is None:
        return story
    story.update({
        "path": dg.MetadataValue.path(doc.source), "file_name": dg.MetadataValue.text(doc.file_name),
        "document_id": dg.MetadataValue.text(doc.id), "version": dg.MetadataValue.int(doc.version),
        "status": dg.MetadataValue.text(str(doc.status)), "size_bytes": dg.MetadataValue.int(doc.size_bytes),
        "pages": dg.MetadataValue.int(doc.pages or 0), "chunks": dg.MetadataValue.int(doc.chunk_count),
        "tokens": dg.MetadataValue.int(doc.token_count),
    })
    if doc.status is DocumentStatus.FAILED:
        story.update({"failed_stage": dg.MetadataValue.text(doc.failed_stage or ""),
                      "reason": dg.MetadataValue.text(doc.reason or ""),
                      "re_drive": dg.MetadataValue.md(redrive_hint(doc))})
    if doc.duplicate_of:
        story["duplicate_of"] = dg.MetadataValue.text(doc.duplicate_of)
    return {**story, **_stage_facts(outcome.facts)}


def _stage_facts(facts: dict) -> dict:
    shown = {}
    for name, value in facts.items():
        if name in _SHOWN_APART or isinstance(value, bool) or value in ("", None):
            continue
        if isinstance(value, int):
            shown[name] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            shown[name] = dg.MetadataValue.float(value)
        else:
            shown[name] = dg.MetadataValue.text(str(value))
    if "cost_usd" in facts:
        shown["cost_usd"] = dg.MetadataValue.float(float(facts["cost_usd"]))
    if facts.get("preview"):
        shown["preview"] = dg.MetadataValue.md(facts["preview"])
    return shown


def observe_documents(context: dg.AssetExecutionContext, engine: Engine, keys: Sequence[str],
                      outcomes: Sequence[Outcome], cost_usd: Callable[[int], float] | None = None) -> int:
    """Put every document's story on its partition's materialization (what the UI's partition panel shows),
    and record it as an observation where it is news (see `_is_news`). `cost_usd` prices a document's
    tokens. Returns how many observations."""
    with engine.connect() as conn:
        docs = {doc.id: doc for doc in documents.get_many(conn, [o.document_id for o in outcomes])}
    observations, on_partitions = [], {}
    for key, outcome in zip(keys, outcomes, strict=True):
        doc = docs.get(outcome.document_id)
        if cost_usd is not None and doc is not None and "cost_usd" not in outcome.facts:
            outcome.facts["cost_usd"] = cost_usd(doc.token_count)
        story = document_story(doc, outcome)
        # Under keys of its own (the run's shared counts keep theirs), stored with the materialization.
        on_partitions[key] = _on_materialization(story)
        if _is_news(context.asset_key, outcome):
            observations.append(dg.AssetObservation(
                asset_key=context.asset_key, partition=key, metadata=story,
                description=f"{context.asset_key.to_user_string()}: {outcome.state}"))
    _add_partition_metadata(context, on_partitions)
    if observations:
        _store_in_one_batch(context, observations)
    return len(observations)


def _is_news(stage: dg.AssetKey, outcome: Outcome) -> bool:
    """An observation (an entry in the partition's history) where the document's way through the run ended or
    turned: its last stage, or any stage that failed, skipped, paused or retries it, or left it waiting on a
    parse job. Not for every stage it merely passed: each observation costs Dagster about a millisecond of
    event handling, and one per stage and document made the cold benchmark 15-25% slower; every stage's
    materialization carries the story anyway."""
    if outcome.state == UP_TO_DATE:
        return False  # its story was told when it last changed (a range run covers many such documents)
    return outcome.state != DONE or stage == _LAST_STAGE


def _add_partition_metadata(context: dg.AssetExecutionContext, metadata_by_key: dict[str, dict]) -> None:
    """`context.add_asset_metadata(metadata, partition_key=key)` for each key, without its check that the
    key is one of the run's: that check lists every partition of the definition from the instance, a query
    per call (hundreds of documents: seconds per stage). These keys are the run's own `partition_keys`."""
    step = context.get_step_execution_context()
    for key, metadata in metadata_by_key.items():
        step._metadata_accumulator = step._metadata_accumulator.with_additional_asset_metadata(
            asset_key=context.asset_key, partition_key=key, metadata=metadata)


def _on_materialization(story: dict) -> dict:
    """The story as one Markdown table (`this_document`), the path as a path value, the preview as Markdown."""
    rows = [f"| {name} | {_cell(value)} |" for name, value in story.items() if name != "preview"]
    shown = {"this_document": dg.MetadataValue.md("| fact | value |\n|---|---|\n" + "\n".join(rows))}
    if "path" in story:
        shown["this_document_path"] = story["path"]
    if "preview" in story:
        shown["this_document_preview"] = story["preview"]
    return shown


def _cell(value: dg.MetadataValue) -> str:
    return str(value.value).replace("|", "\\|").replace("\n", " ")[:_CELL_CHARS]


def _store_in_one_batch(context: dg.AssetExecutionContext, observations: list[dg.AssetObservation]) -> None:
    """Log the observations as Dagster logs a multi-partition materialization: marked as one batch, which
    an instance with DAGSTER_EVENT_BATCH_SIZE set (ours: orchestration/instance_storage.py) stores in one
    insert. `context.log_event` would store each alone, a round trip apiece (hundreds per stage)."""
    step = context.get_step_execution_context()
    batch_id, last = generate_event_batch_id(), len(observations) - 1
    for index, observation in enumerate(observations):
        # Creating the event logs it, to the instance's event log, with its place in the batch.
        DagsterEvent.asset_observation(step, observation, DagsterEventBatchMetadata(batch_id, index == last))
