"""Document lifecycle statuses and the pipeline stages that move a document through them."""

from __future__ import annotations

from enum import StrEnum


class DocumentStatus(StrEnum):
    REGISTERED = "registered"
    SUBMITTED = "submitted"
    PARSED = "parsed"
    VALIDATED = "validated"
    CHUNKED = "chunked"
    EMBEDDED = "embedded"
    FAILED = "failed"
    DUPLICATE = "duplicate"


class Stage(StrEnum):
    """The asset names, which are also what `failed_stage` records."""

    RAW_DOCUMENT = "raw_document"
    PARSE_JOB = "parse_job"
    PARSED_TEXT = "parsed_text"
    VALIDATED_CONTENT = "validated_content"
    CHUNKS = "chunks"
    EMBEDDINGS = "embeddings"


# The status each stage leaves behind when it succeeds, in pipeline order.
STAGE_OUTPUT: dict[Stage, DocumentStatus] = {
    Stage.RAW_DOCUMENT: DocumentStatus.REGISTERED,
    Stage.PARSE_JOB: DocumentStatus.SUBMITTED,
    Stage.PARSED_TEXT: DocumentStatus.PARSED,
    Stage.VALIDATED_CONTENT: DocumentStatus.VALIDATED,
    Stage.CHUNKS: DocumentStatus.CHUNKED,
    Stage.EMBEDDINGS: DocumentStatus.EMBEDDED,
}
PROGRESS: tuple[DocumentStatus, ...] = tuple(STAGE_OUTPUT.values())
STAGES: tuple[Stage, ...] = tuple(STAGE_OUTPUT)
# Statuses a document can rest in; anything else means a run still owes it work.
SETTLED = (DocumentStatus.EMBEDDED, DocumentStatus.FAILED, DocumentStatus.DUPLICATE)


def stage_input_status(stage: Stage) -> DocumentStatus | None:
    """The status a document must have reached before `stage` may work on it."""
    index = STAGES.index(stage)
    return PROGRESS[index - 1] if index else None


def is_ready_for(stage: Stage, status: DocumentStatus) -> bool:
    """Whether a document in `status` may enter `stage` (stages may re-run on later statuses).

    Failed documents wait for an explicit re-drive; duplicates stop after validation.
    """
    needed = stage_input_status(stage)
    if needed is None:
        return status is not DocumentStatus.FAILED
    if status is DocumentStatus.DUPLICATE:
        return stage is Stage.VALIDATED_CONTENT
    return status in PROGRESS and PROGRESS.index(status) >= PROGRESS.index(needed)
