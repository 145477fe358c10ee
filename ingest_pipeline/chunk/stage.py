"""The chunking stage: cut the validated text into token-sized, structure-aware chunks and stage them."""

from __future__ import annotations

from sqlalchemy import Engine

from ingest_pipeline.chunk.blocks import ChunkingOptions
from ingest_pipeline.chunk.packing import iter_chunks
from ingest_pipeline.domain.errors import Superseded, UpToDate
from ingest_pipeline.domain.statuses import DocumentStatus, Stage, is_ready_for
from ingest_pipeline.store import chunks, documents, pages
from ingest_pipeline.store.documents import Document

# Bump when the chunker changes how it cuts, so stored chunks are redone.
CHUNKER_VERSION = 1


def chunk_document(engine: Engine, doc: Document, options: ChunkingOptions) -> dict:
    """Stage this document's chunks; they become searchable when their embeddings are published."""
    chunk_key = f"{doc.text_hash}:v{CHUNKER_VERSION}:{options.max_tokens}/{options.overlap_tokens}"
    if doc.chunk_key == chunk_key and is_ready_for(Stage.EMBEDDINGS, doc.status):
        raise UpToDate()
    with engine.begin() as conn:
        # Checked again under the row lock: another run may have chunked and published this version
        # since `doc` was read, and staging it again would send it back a stage.
        current = documents.get(conn, doc.id, lock=True)
        if current is None or current.sha256 != doc.sha256:
            raise Superseded("deleted or replaced by a new version before it was chunked")
        if current.chunk_key == chunk_key and is_ready_for(Stage.EMBEDDINGS, current.status):
            raise UpToDate()
        # Chunks stream from the chunker into the table: a long document's chunks are never all in memory.
        count, tokens = chunks.stage(conn, doc.id, iter_chunks(pages.read(conn, doc.id, clean=True), options))
        documents.update(conn, doc.id, status=str(DocumentStatus.CHUNKED), chunk_key=chunk_key,
                         failed_stage=None, reason=None, attempts=0)
    return {"chunks": count, "tokens": tokens}
