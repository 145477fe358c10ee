"""Parsed and cleaned page text, streamed in and out so a long document never sits whole in memory."""

from __future__ import annotations

from itertools import islice
from typing import Iterable

from sqlalchemy import Connection, text

from ingest_pipeline.domain.models import Page
from ingest_pipeline.store.bulk import insert_rows

_BATCH = 200


def replace_parsed(conn: Connection, document_id: str, pages: Iterable[Page]) -> tuple[int, int]:
    """Replace a document's pages with `pages`; returns (page count, character count)."""
    conn.execute(text("DELETE FROM document_pages WHERE document_id = :id"), {"id": document_id})
    count = characters = 0
    iterator = iter(pages)
    while batch := list(islice(iterator, _BATCH)):
        insert_rows(conn, "INSERT INTO document_pages (document_id, page_number, parsed_text) VALUES %s",
                    [(document_id, page.number, page.text) for page in batch])
        count += len(batch)
        characters += sum(len(page.text) for page in batch)
    return count, characters


def read(conn: Connection, document_id: str, clean: bool = False) -> list[Page]:
    """Pages in order, parsed or cleaned text (text is bounded by the parser's limits)."""
    column = "clean_text" if clean else "parsed_text"
    rows = conn.execute(
        text(f"SELECT page_number, {column} FROM document_pages WHERE document_id = :id ORDER BY page_number"),
        {"id": document_id},
    )
    return [Page(number, page_text or "") for number, page_text in rows]


def store_clean(conn: Connection, document_id: str, pages: Iterable[Page]) -> None:
    rows = [{"id": document_id, "n": page.number, "t": page.text} for page in pages]
    if rows:
        conn.execute(
            text("UPDATE document_pages SET clean_text = :t WHERE document_id = :id AND page_number = :n"), rows
        )
