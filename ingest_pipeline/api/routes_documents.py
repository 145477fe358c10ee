"""Reading, listing, deleting and retrying registered documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from ingest_pipeline.api.context import ApiContext, get_context
from ingest_pipeline.api.schemas import DocumentList, DocumentView, Problem, RetryResult
from ingest_pipeline.domain.ids import is_document_id
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.service import lifecycle
from ingest_pipeline.store import documents

MAX_PAGE = 500
# Postgres OFFSET is a bigint, but anything past this is no page anyone means to ask for.
MAX_OFFSET = 2**31 - 1
# No pattern in the schema on purpose: an id of the wrong shape is simply not found (404), never 422.
DocumentId = Annotated[str, Path(description="A document id as returned by upload: `d` and 20 hex digits.")]
_NOT_FOUND = {404: {"model": Problem, "description": "No document has this id."}}

router = APIRouter(tags=["documents"])


@router.get("/documents/{document_id}", response_model=DocumentView, responses=_NOT_FOUND,
            summary="A document's status and what the pipeline made of it")
def get_document(document_id: DocumentId, context: ApiContext = Depends(get_context)) -> DocumentView:
    found = context.app.documents([_known_shape(document_id)])
    if not found:
        raise _not_found(document_id)
    return DocumentView.of(*found[0])


@router.get("/documents", response_model=DocumentList, summary="Documents in registration order")
def list_documents(status_filter: DocumentStatus | None = Query(None, alias="status"),
                   limit: int = Query(50, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                   context: ApiContext = Depends(get_context)) -> DocumentList:
    with context.app.engine.connect() as conn:
        ids, total = documents.page(conn, str(status_filter) if status_filter else None, limit, offset)
    # Application.documents counts each document's vectors in the configured embedding set.
    items = [DocumentView.of(doc, n) for doc, n in context.app.documents(ids)]
    return DocumentList(items=items, total=total, limit=limit, offset=offset)


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=_NOT_FOUND, summary="Delete a document, its chunks, vectors, stored file and partition",
               description="A second delete of the same id answers 404: the document is already gone.")
def delete_document(document_id: DocumentId, context: ApiContext = Depends(get_context)) -> Response:
    _known_shape(document_id)
    if not lifecycle.delete_document(context.app, document_id, context.dagster_instance()):
        raise _not_found(document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/documents/{document_id}/retry", status_code=status.HTTP_202_ACCEPTED, response_model=RetryResult,
             responses={**_NOT_FOUND, 409: {"model": Problem, "description": "The document has not failed."}},
             summary="Send a failed document back to the stage that failed",
             description="Clears the reason and attempts and puts the document back at the status its failed "
                         "stage needs; the next run over its partition processes it.")
def retry_document(document_id: DocumentId, context: ApiContext = Depends(get_context)) -> RetryResult:
    _known_shape(document_id)
    redriven = lifecycle.redrive(context.app, [document_id])
    with context.app.engine.connect() as conn:
        doc = documents.get(conn, document_id)
    if doc is None:
        raise _not_found(document_id)
    if not redriven:
        raise HTTPException(status.HTTP_409_CONFLICT, f"document {document_id} is {doc.status}, not failed: "
                                                      "only failed documents can be retried")
    return RetryResult(id=doc.id, status=doc.status)


def _known_shape(document_id: str) -> str:
    """Ids that cannot exist are 404 without touching the database."""
    if not is_document_id(document_id):
        raise _not_found(document_id)
    return document_id


def _not_found(document_id: str) -> HTTPException:
    # Echo only ids of the right shape: anything else may be arbitrary bytes from the caller.
    shown = f"the id {document_id}" if is_document_id(document_id) else "this id"
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no document has {shown}")
