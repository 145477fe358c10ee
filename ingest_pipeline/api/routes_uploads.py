"""POST /documents: receive an upload, refuse what can never be ingested, and register the rest."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from ingest_pipeline.api.context import ApiContext, get_context
from ingest_pipeline.api.document_metadata import InvalidMetadata, check_metadata, set_metadata
from ingest_pipeline.api.request_log import annotate
from ingest_pipeline.api.schemas import Problem, UploadResult
from ingest_pipeline.api.uploads import (
    FILE_FIELD,
    FORM_OVERHEAD_BYTES,
    MalformedUpload,
    ReceivedUpload,
    UploadTooLarge,
    boundary_of,
    receive_upload,
)
from ingest_pipeline.domain.ids import Identity, ReservedIdentity
from ingest_pipeline.intake.admit import IntakeRefused, admit, sanitise_file_name

MAX_EXTERNAL_ID = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": [FILE_FIELD],
    "properties": {
        FILE_FIELD: {"type": "string", "format": "binary",
                     "description": "The document: PDF, HTML, Markdown, text or DOCX (sniffed from the bytes)."},
        "external_id": {"type": "string", "maxLength": MAX_EXTERNAL_ID,
                        "description": "Your id for the document: new bytes under it make a new version."},
        "metadata": {"type": "string", "description": "A JSON object stored with the document."},
    },
}}}}

router = APIRouter(tags=["documents"])


@router.post(
    "/documents", status_code=status.HTTP_201_CREATED, response_model=UploadResult,
    summary="Upload a document", openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={200: {"model": UploadResult, "description": "These bytes (or this external id and bytes) "
                                                          "were already registered."},
               400: {"model": Problem}, 413: {"model": Problem}, 415: {"model": Problem},
               422: {"model": Problem}},
)
async def upload_document(request: Request, response: Response,
                          context: ApiContext = Depends(get_context)) -> UploadResult:
    upload = await _receive(request, context)
    # Database and disk work leave the event loop: /health and other requests keep being answered meanwhile.
    registered = await run_in_threadpool(_register_then_remove, context, upload)
    annotate(request, document_id=registered.id, version=registered.version, new=registered.created)
    if not registered.created:
        response.status_code = status.HTTP_200_OK
    return registered


async def _receive(request: Request, context: ApiContext) -> ReceivedUpload:
    """The parsed form; too large a body is refused from its Content-Length, else as soon as it overflows."""
    try:
        boundary = boundary_of(request.headers.get("content-type"))
    except MalformedUpload as error:
        raise HTTPException(415, str(error)) from None
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > context.max_upload_bytes + FORM_OVERHEAD_BYTES:
        raise HTTPException(413, f"the request body is larger than the limit of {context.max_upload_bytes} bytes")
    folder = context.app.settings.home / "uploads"
    try:
        upload = await receive_upload(request.stream(), boundary, folder, context.max_upload_bytes)
    except UploadTooLarge as error:
        raise HTTPException(413, str(error)) from None
    except MalformedUpload as error:
        raise HTTPException(400, str(error)) from None
    if not upload.has_file:
        await run_in_threadpool(upload.path.unlink, missing_ok=True)
        raise HTTPException(422, f"the form has no `{FILE_FIELD}` part")
    return upload


def _register_then_remove(context: ApiContext, upload: ReceivedUpload) -> UploadResult:
    try:
        return _register(context, upload)
    finally:
        upload.path.unlink(missing_ok=True)


def _register(context: ApiContext, upload: ReceivedUpload) -> UploadResult:
    """Check the fields and the type, then register; nothing is stored for a refused upload."""
    app = context.app
    identity = _identity(upload.fields.get("external_id"))
    metadata = _metadata(app.engine, upload.fields.get("metadata"))
    original = upload.file_name or "upload"
    try:
        # The size limit cannot trip here (the body was bounded to it while streaming): a refusal is the type's.
        registration = admit(app.engine, app.store, upload.path, original, max_bytes=context.max_upload_bytes,
                             identity=identity, source=f"upload:{sanitise_file_name(original)}")
    except IntakeRefused as refused:
        raise HTTPException(415, refused.reason) from None
    doc = registration.document
    if metadata is not None:
        set_metadata(app.engine, doc.id, metadata)
    return UploadResult(id=doc.id, status=doc.status, status_url=f"/documents/{doc.id}", version=doc.version,
                        created=registration.created)


def _identity(value: str | None) -> Identity | None:
    # An empty field is what a form sends for "none".
    if not value:
        return None
    if len(value) > MAX_EXTERNAL_ID or _CONTROL.search(value):
        raise HTTPException(422,
                            f"external_id must be at most {MAX_EXTERNAL_ID} characters, without control characters")
    try:
        return Identity.of_caller(value)
    except ReservedIdentity as error:
        raise HTTPException(422, str(error)) from None


def _metadata(engine: Engine, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return check_metadata(engine, value)
    except InvalidMetadata as error:
        raise HTTPException(422, str(error)) from None
