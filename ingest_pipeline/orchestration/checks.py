"""The run's checks: usable text before chunking (blocking); after embedding, every document of the run landed, and
how completely each embedding set covers the embedded documents."""

from __future__ import annotations

from typing import Sequence

import dagster as dg
from sqlalchemy import Engine

from ingest_pipeline.domain.statuses import DocumentStatus, Stage, is_ready_for
from ingest_pipeline.orchestration.observations import redrive_hint
from ingest_pipeline.orchestration.runner import FAILED, Outcome
from ingest_pipeline.store import documents, embedding_sets
from ingest_pipeline.store.documents import Document

# Rows of a check's table of documents; the description and the run's log name the first ones too.
TABLE_ROWS = 50

USABLE_TEXT_CHECK = dg.AssetCheckSpec(
    "usable_text", asset="validated_content", blocking=True,
    description="Every document validated in this run has usable, non-duplicate text. Fails with ERROR "
                "(stopping chunks and embeddings) when no document of the run may go on; with WARN when "
                "others may, since those stages skip the rejected documents by their status.",
)


def usable_text_result(engine: Engine, outcomes: list[Outcome]) -> dg.AssetCheckResult:
    ids = [o.document_id for o in outcomes]
    with engine.connect() as conn:
        docs = documents.get_many(conn, ids)
    rejected = {o.document_id: o.note for o in outcomes if o.state == FAILED}
    rejected.update({d.id: f"duplicate of {d.duplicate_of}" for d in docs if d.duplicate_of})
    may_go_on = [d.id for d in docs if is_ready_for(Stage.CHUNKS, d.status)]
    return dg.AssetCheckResult(
        check_name=USABLE_TEXT_CHECK.name,
        passed=not rejected,
        severity=dg.AssetCheckSeverity.WARN if may_go_on else dg.AssetCheckSeverity.ERROR,
        metadata={"rejected": dg.MetadataValue.json(rejected), "may_go_on": dg.MetadataValue.int(len(may_go_on))},
    )


LANDED_CHECK = dg.AssetCheckSpec(
    "documents_landed", asset="embeddings",
    description="Every document of this run landed: embedded and searchable, or set aside as a duplicate of one "
                "that is. WARN names the others: for a failed document its stage, reason and how to re-drive it.",
)
# Where a document has landed for good; any other status means it failed or still waits for something.
_LANDED = (DocumentStatus.EMBEDDED, DocumentStatus.DUPLICATE)
NOT_LANDED_COLUMNS = dg.TableSchema(columns=[
    dg.TableColumn("partition", "string", description="The document's partition key."),
    dg.TableColumn("path", "string", description="Where the document came from."),
    dg.TableColumn("status", "string"),
    dg.TableColumn("failed_stage", "string", description="The stage it failed at (empty while it waits)."),
    dg.TableColumn("reason", "string", description="Why it failed, or what it waits for."),
])


def landed_result(engine: Engine, ids: Sequence[str]) -> dg.AssetCheckResult:
    """Passes when every document of the run landed; otherwise WARN, naming each document that did not."""
    with engine.connect() as conn:
        docs = documents.get_many(conn, ids)
    missing = [doc for doc in docs if doc.status not in _LANDED]
    failed = [doc for doc in missing if doc.status is DocumentStatus.FAILED]
    metadata = {"documents": dg.MetadataValue.int(len(docs)), "landed": dg.MetadataValue.int(len(docs) - len(missing)),
                "failed": dg.MetadataValue.int(len(failed)),
                "not_landed": dg.MetadataValue.table([_row(doc) for doc in missing[:TABLE_ROWS]], NOT_LANDED_COLUMNS)}
    if failed:
        metadata["re_drive"] = dg.MetadataValue.md(
            "Re-drive a failed document from the stage it failed at: " + redrive_hint(failed[0])
            + (f"; all {len(failed)} at once: `ingest-pipeline retry --failed`" if len(failed) > 1 else ""))
    named = "; ".join(f"{doc.partition_key} ({doc.failed_stage}: {doc.reason})" for doc in failed[:5])
    return dg.AssetCheckResult(
        check_name=LANDED_CHECK.name, passed=not missing, severity=dg.AssetCheckSeverity.WARN, metadata=metadata,
        description=(f"{len(failed)} failed: {named}" if failed else
                     f"{len(missing)} still waiting" if missing else f"all {len(docs)} landed"),
    )


def _row(doc: Document) -> dg.TableRecord:
    return dg.TableRecord({"partition": doc.partition_key, "path": doc.source, "status": str(doc.status),
                           "failed_stage": doc.failed_stage or "", "reason": doc.reason or _why_waiting(doc)})


def _why_waiting(doc: Document) -> str:
    if doc.paused_for:
        return f"paused until {doc.paused_for} answers again"
    return f"waiting for parse job {doc.parse_job_id}" if doc.parse_job_id else f"waiting at {doc.status}"


SETS_CHECK = dg.AssetCheckSpec(
    "embedding_sets_complete", asset="embeddings",
    description="The configured embedding set covers every embedded document and search answers from it. WARN "
                "while a new set (another model or size) fills: search stays on the active set until the new one "
                "is complete, then switches. The table shows every set's coverage and index size.",
)
SET_COLUMNS = dg.TableSchema(columns=[
    dg.TableColumn("set", "int"),
    dg.TableColumn("name", "string", description="embedder/model/dimensions"),
    dg.TableColumn("active", "bool", description="Search answers from it."),
    dg.TableColumn("documents", "int", description="Embedded documents whose every chunk has a vector in the set."),
    dg.TableColumn("chunks", "int", description="Chunks of embedded documents with a vector in the set."),
    dg.TableColumn("percent", "float", description="Share of those chunks."),
    dg.TableColumn("index_mb", "float", description="Its HNSW index (empty: none)."),
])


def sets_result(engine: Engine, configured_set_id: int) -> dg.AssetCheckResult:
    """Passes when the configured set is the active one and complete; otherwise WARN, saying how far it is."""
    with engine.connect() as conn:
        found = embedding_sets.coverage(conn)
    configured = next((c for c in found if c.set.id == configured_set_id), None)
    active = next((c.set for c in found if c.set.active), None)
    passed = configured is not None and configured.set.active and configured.complete
    return dg.AssetCheckResult(
        check_name=SETS_CHECK.name, passed=passed, severity=dg.AssetCheckSeverity.WARN,
        description=_sets_summary(configured, active, configured_set_id),
        metadata={"active_set": dg.MetadataValue.text(active.name if active else ""),
                  "sets": dg.MetadataValue.table([_set_row(c) for c in found], SET_COLUMNS)})


def _sets_summary(configured: embedding_sets.Coverage | None, active: embedding_sets.EmbeddingSet | None,
                  configured_id: int) -> str:
    if configured is None:
        return f"embedding set {configured_id} was dropped while this run filled it"
    share = f"{configured.documents} of {configured.of_documents} embedded documents"
    if configured.set.active:
        return f"set {configured.set.id} ({configured.set.name}) answers searches and covers {share}"
    where = f"set {active.id} ({active.name})" if active else "no set"
    return (f"set {configured.set.id} ({configured.set.name}) fills: {share}; search answers from {where} until it "
            f"covers them all (backfill `embeddings` over every document partition, or `ingest-pipeline embeddings fill`)")


def _set_row(found: embedding_sets.Coverage) -> dg.TableRecord:
    percent = 100.0 * found.chunks / found.of_chunks if found.of_chunks else 100.0
    size = round(found.index_bytes / 2**20, 2) if found.index_bytes is not None else None
    return dg.TableRecord({"set": found.set.id, "name": found.set.name, "active": found.set.active,
                           "documents": found.documents, "chunks": found.chunks, "percent": round(percent, 1),
                           "index_mb": size})
