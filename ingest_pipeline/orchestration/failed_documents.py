"""failed_documents: every failed document in one table, with its stage, its reason and how to re-drive it."""

from __future__ import annotations

import dagster as dg

from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.orchestration.corpus_report import REPORTING_GROUP
from ingest_pipeline.store import documents
from ingest_pipeline.store.documents import Document
from ingest_pipeline.store.resource import PostgresResource

# Rows shown; the count says how many there are, and `ingest-pipeline status --failed` lists them all.
MAX_ROWS = 200
COLUMNS = dg.TableSchema(columns=[
    dg.TableColumn("partition", "string", description="The document's partition key (find it in the partitions view)."),
    dg.TableColumn("path", "string", description="Where the document came from."),
    dg.TableColumn("version", "int"),
    dg.TableColumn("failed_stage", "string", description="The stage it failed at; a re-drive starts there."),
    dg.TableColumn("reason", "string", description="Why it failed."),
    dg.TableColumn("attempts", "int", description="Attempts used at that stage."),
    dg.TableColumn("failed_at", "string", description="When it failed (UTC)."),
    dg.TableColumn("document_id", "string", description="What `ingest-pipeline retry` and the API take."),
])
REDRIVE = ("**To re-drive** (each document starts again at the stage it failed at, with its attempts reset): "
           "`ingest-pipeline retry DOCUMENT_ID…`, `ingest-pipeline retry --failed` for all of them, or "
           "`POST /documents/{document_id}/retry` on the API. The uploads sensor then runs them again; the "
           "CLI's `retry` runs them itself. Materialize this asset again to refresh the table.")


def failed_rows(failed: list[Document]) -> list[dg.TableRecord]:
    return [dg.TableRecord({
        "partition": doc.partition_key, "path": doc.source, "version": doc.version,
        "failed_stage": doc.failed_stage or "", "reason": doc.reason or "", "attempts": doc.attempts,
        "failed_at": doc.updated_at.strftime("%Y-%m-%d %H:%M:%S"), "document_id": doc.id,
    }) for doc in failed[-MAX_ROWS:][::-1]]


@dg.asset(group_name=REPORTING_GROUP, kinds={"postgres"}, deps=["embeddings"],
          description="Every failed document: its partition, path, the stage it failed at, the reason, and how to "
                      "re-drive it. Not partitioned: it reads the catalog; materialize it whenever you like.")
def failed_documents(database: PostgresResource) -> dg.MaterializeResult:
    with database.engine.connect() as conn:
        failed = documents.list_all(conn, [DocumentStatus.FAILED])
    by_stage: dict[str, int] = {}
    for doc in failed:
        by_stage[doc.failed_stage or "intake"] = by_stage.get(doc.failed_stage or "intake", 0) + 1
    return dg.MaterializeResult(metadata={
        "failed": dg.MetadataValue.table(failed_rows(failed), COLUMNS),
        "dagster/row_count": dg.MetadataValue.int(len(failed)),
        "by_stage": dg.MetadataValue.json(by_stage),
        "re_drive": dg.MetadataValue.md(REDRIVE),
    })
