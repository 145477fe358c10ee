"""Document lifecycle after registration: deleting a document everywhere, and re-driving failed ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ingest_pipeline.domain.statuses import DocumentStatus, Stage, stage_input_status
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION
from ingest_pipeline.service.application import Application
from ingest_pipeline.store import documents, superseded

if TYPE_CHECKING:
    from ingest_pipeline.orchestration.runs import DagsterInstance


def delete_document(app: Application, document_id: str, instance: "DagsterInstance | None" = None) -> bool:
    """Remove a document, its pages, chunks and vectors, its stored file and its partition.

    The partition goes first, then the rows in one transaction (pages, staged and live chunks and
    their vectors follow by FK cascade). The file stays while another document holds the same bytes.
    A delete interrupted half-way can be repeated; returns whether a document was deleted.
    """
    # Bytes of its earlier versions first: the cascade below would forget them.
    superseded.collect(app.engine, app.store, [document_id])
    if instance is not None:
        # Before the row, which holds the key. A row already gone leaves the id: the key of every document
        # registered before keys were stored, when a delete removed the row first (so a repeat still works).
        with app.engine.connect() as conn:
            key = documents.partition_keys(conn, [document_id]).get(document_id, document_id)
        # Deleting an unknown partition is a no-op in Dagster, which makes this step repeatable.
        instance.delete_dynamic_partition(DOCUMENTS_PARTITION, key)
    with app.engine.begin() as conn:
        documents.release_duplicates(conn, document_id)
        sha256 = documents.delete(conn, document_id)
        shared = sha256 is not None and documents.bytes_in_use(conn, sha256)
    if sha256 is not None and not shared:
        # A concurrent upload of the same bytes may re-store them between this check and the
        # removal; its raw_document stage then fails with a reason and a new upload mends it.
        app.store.remove(sha256)
    return sha256 is not None


def redrive(app: Application, document_ids: Sequence[str]) -> list[str]:
    """Put failed documents back at the status their failed stage needs; returns the ids re-driven.

    Reason, failed stage and attempts are cleared so the retry starts with a full retry budget.
    Documents that are not failed (or unknown) are left alone.
    """
    redriven = []
    with app.engine.begin() as conn:
        for document_id in dict.fromkeys(document_ids):
            doc = documents.get(conn, document_id, lock=True)
            if doc is None or doc.status is not DocumentStatus.FAILED:
                continue
            documents.update(conn, document_id, status=str(restart_status(doc.failed_stage)),
                             failed_stage=None, reason=None, attempts=0)
            # A new intake number lets the uploads sensor see a document sent back to `registered`.
            documents.request_processing(conn, document_id)
            redriven.append(document_id)
    return redriven


def restart_status(failed_stage: str | None) -> DocumentStatus:
    """The status a document failed in `failed_stage` must have for that stage to run again."""
    try:
        stage = Stage(failed_stage)
    except ValueError:
        # None, "intake" or a name no stage has: the document starts again from the top.
        return DocumentStatus.REGISTERED
    # raw_document has no input status: it too starts from `registered`.
    return stage_input_status(stage) or DocumentStatus.REGISTERED
