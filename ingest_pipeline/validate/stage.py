"""The validation stage: clean the text, reject unusable text, and spot duplicate documents."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from ingest_pipeline.domain.errors import DocumentRejected, UpToDate
from ingest_pipeline.domain.models import Page
from ingest_pipeline.domain.statuses import DocumentStatus, Stage, is_ready_for
from ingest_pipeline.store import chunks, documents, locks, pages
from ingest_pipeline.store.documents import Document
from ingest_pipeline.validate.rules import DEFAULT_MIN_CHARACTERS, Assessment, assess_clean, clean_pages

# Bump when cleaning or the acceptance rules change, so stored validations are redone.
VALIDATION_VERSION = 2
PREVIEW_CHARACTERS = 300


@dataclass(frozen=True)
class Cleaned:
    """A document's cleaned pages and the verdict on them, before the duplicate decision."""

    pages: list[Page]
    verdict: Assessment
    validate_key: str


def clean_document(engine: Engine, doc: Document, min_characters: int = DEFAULT_MIN_CHARACTERS) -> Cleaned:
    """Clean and judge the text (no writes: documents can be cleaned side by side)."""
    validate_key = f"{doc.parse_key}:v{VALIDATION_VERSION}:min{min_characters}"
    if doc.validate_key == validate_key and (
        doc.status is DocumentStatus.DUPLICATE or is_ready_for(Stage.CHUNKS, doc.status)
    ):
        raise UpToDate()
    with engine.begin() as conn:
        cleaned = clean_pages(pages.read(conn, doc.id))
    verdict = assess_clean(cleaned, min_characters=min_characters)
    if verdict.reason:
        raise DocumentRejected(verdict.reason)
    return Cleaned(cleaned, verdict, validate_key)


def record_validation(engine: Engine, doc: Document, cleaned: Cleaned) -> dict:
    """Store the clean text and decide original or duplicate. Taken in partition order, so of two
    documents with the same text the first is the original."""
    verdict = cleaned.verdict
    with engine.begin() as conn:
        # Serialise documents with the same text, across runs, so only one of them is the original.
        locks.for_transaction(conn, verdict.text_hash)
        pages.store_clean(conn, doc.id, cleaned.pages)
        original = documents.find_same_text(conn, doc.id, verdict.text_hash)
        status = DocumentStatus.DUPLICATE if original else DocumentStatus.VALIDATED
        if original:
            chunks.remove_all(conn, doc.id)  # a duplicate must not answer searches twice
        documents.update(conn, doc.id, status=str(status), text_hash=verdict.text_hash, duplicate_of=original,
                         characters=verdict.characters, validate_key=cleaned.validate_key,
                         failed_stage=None, reason=None, attempts=0)
    preview = "\n\n".join(page.text for page in cleaned.pages)[:PREVIEW_CHARACTERS]
    return {"characters": verdict.characters, "duplicate_of": original or "", "preview": preview}
