"""The bytes of superseded versions: recorded when a new version arrives, removed from storage once it is published."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Connection, Engine, text

from ingest_pipeline.store.content import ContentStore


def record(conn: Connection, document_id: str, sha256: str) -> None:
    """The document moved past the version whose bytes are `sha256`."""
    conn.execute(text("INSERT INTO superseded_content (document_id, sha256) VALUES (:id, :sha) "
                      "ON CONFLICT DO NOTHING"), {"id": document_id, "sha": sha256})


def release(conn: Connection, document_ids: Sequence[str]) -> list[str]:
    """Forget the superseded versions of these documents; returns the bytes nothing holds any more.

    The statement's subqueries see the rows as they were before its DELETE, hence `<> ALL(:ids)`.
    """
    return list(conn.execute(text(
        "WITH released AS (DELETE FROM superseded_content WHERE document_id = ANY(:ids) RETURNING sha256) "
        "SELECT DISTINCT r.sha256 FROM released r "
        "WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.sha256 = r.sha256) "
        "AND NOT EXISTS (SELECT 1 FROM superseded_content s "
        "                WHERE s.sha256 = r.sha256 AND s.document_id <> ALL(:ids))"
    ), {"ids": list(document_ids)}).scalars())


def collect(engine: Engine, store: ContentStore, document_ids: Sequence[str]) -> list[str]:
    """Remove from storage the superseded bytes of these documents that nothing holds; returns them.

    An upload of the same bytes racing this removal finds them gone at its raw_document stage,
    which fails with that reason (a new upload mends it), as after a delete.
    """
    if not document_ids:
        return []
    with engine.begin() as conn:
        unused = release(conn, document_ids)
    for sha256 in unused:
        store.remove(sha256)
    return unused
