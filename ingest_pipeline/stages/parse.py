"""The first two stages: check the stored bytes and their type, then extract page text."""

from __future__ import annotations

from sqlalchemy import Engine

from ingest_pipeline.catalog import documents, pages
from ingest_pipeline.catalog.documents import Document
from ingest_pipeline.errors import DocumentRejected
from ingest_pipeline.extraction import sniff_file
from ingest_pipeline.resources.parser import ParserResource
from ingest_pipeline.stages.runner import UpToDate
from ingest_pipeline.statuses import DocumentStatus, Stage, is_ready_for
from ingest_pipeline.storage import ContentStore


def check_raw_document(engine: Engine, doc: Document, store: ContentStore) -> dict:
    """The stored file exists, still has its hash, and is a type we can parse (sniffed from bytes)."""
    if doc.status is not DocumentStatus.REGISTERED and doc.media_type:
        raise UpToDate()  # checked when this version was registered; re-reading the bytes adds nothing
    path = store.path_for(doc.sha256)
    if not path.is_file():
        raise DocumentRejected(f"the stored file for {doc.file_name} is missing from document storage")
    if not store.verify(doc.sha256):
        raise DocumentRejected(f"the stored file for {doc.file_name} is damaged (its sha256 changed)")
    media_type = sniff_file(path, file_name=doc.file_name)
    if media_type != doc.media_type:
        with engine.begin() as conn:
            documents.update(conn, doc.id, media_type=media_type)
    return {"bytes": doc.size_bytes, "media_type": media_type}


def parse_document(engine: Engine, doc: Document, store: ContentStore, parser: ParserResource) -> dict:
    """Extract the pages of the current version, unless this exact parse is already stored."""
    parse_key = f"{doc.sha256}:{parser.fingerprint}"
    if doc.parse_key == parse_key and is_ready_for(Stage.VALIDATED_CONTENT, doc.status):
        raise UpToDate()
    media_type = doc.media_type or sniff_file(store.path_for(doc.sha256), file_name=doc.file_name)
    with engine.begin() as conn:
        # One transaction: a crash mid-parse leaves the previous pages, never half of the new ones.
        count, characters = pages.replace_parsed(conn, doc.id, parser.parse(store.path_for(doc.sha256), media_type))
        documents.update(conn, doc.id, status=str(DocumentStatus.PARSED), parse_key=parse_key,
                         pages=count, characters=characters, failed_stage=None, reason=None, attempts=0)
    return {"pages": count, "characters": characters}
