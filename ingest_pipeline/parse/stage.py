"""The first stages: check the stored bytes, submit them to the parser, then store the text of every page."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from ingest_pipeline.domain.errors import DocumentRejected, UpToDate
from ingest_pipeline.domain.statuses import DocumentStatus, Stage, is_ready_for
from ingest_pipeline.parse.extraction import sniff_file
from ingest_pipeline.parse.jobs import fetch_job_result, submit_job
from ingest_pipeline.parse.parsers import AsynchronousParser, Parser, SynchronousParser
from ingest_pipeline.store import documents, pages
from ingest_pipeline.store.content import ContentStore
from ingest_pipeline.store.documents import Document


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


def parse_key(doc: Document, parser: Parser) -> str:
    return f"{doc.sha256}:{parser.fingerprint}"


def submit_document(engine: Engine, doc: Document, store: ContentStore, parser: Parser) -> dict:
    """Hand the current version to the parser: a job for a parser service, nothing to do for a local one."""
    if doc.parse_key == parse_key(doc, parser) and is_ready_for(Stage.VALIDATED_CONTENT, doc.status):
        raise UpToDate()
    if isinstance(parser, AsynchronousParser):
        return submit_job(engine, doc, store, parser, parse_key(doc, parser))
    if doc.status is DocumentStatus.SUBMITTED:
        raise UpToDate()
    with engine.begin() as conn:
        documents.update(conn, doc.id, status=str(DocumentStatus.SUBMITTED), parse_job_id=None)
    return {"parser": parser.fingerprint}


def parse_document(engine: Engine, doc: Document, store: ContentStore, parser: Parser) -> dict:
    """Store the pages of the current version, unless this exact parse is already stored."""
    key = parse_key(doc, parser)
    if doc.parse_key == key and is_ready_for(Stage.VALIDATED_CONTENT, doc.status):
        raise UpToDate()
    if isinstance(parser, AsynchronousParser):
        job_id, result = fetch_job_result(engine, doc, parser, key)
        facts = store_pages(engine, doc, result.pages, key, result.failed_pages)
        return {**facts, "failed_pages": len(result.failed_pages), "parse_job_id": job_id}
    assert isinstance(parser, SynchronousParser), f"{type(parser).__name__} is neither synchronous nor asynchronous"
    media_type = doc.media_type or sniff_file(store.path_for(doc.sha256), file_name=doc.file_name)
    return store_pages(engine, doc, parser.parse(store.path_for(doc.sha256), media_type), key)


def store_pages(engine: Engine, doc: Document, parsed_pages, key: str,
                page_errors: dict[int, str] | None = None) -> dict:
    with engine.begin() as conn:
        # One transaction: a crash mid-parse leaves the previous pages, never half of the new ones.
        count, characters = pages.replace_parsed(conn, doc.id, parsed_pages)
        documents.update(conn, doc.id, status=str(DocumentStatus.PARSED), parse_key=key, pages=count,
                         characters=characters, failed_stage=None, reason=None, attempts=0,
                         page_errors=json.dumps({str(number): why for number, why in (page_errors or {}).items()}))
    return {"pages": count, "characters": characters}
