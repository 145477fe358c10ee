"""The documents table: registration, lookup, status changes and failures."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, text

from ingest_pipeline.domain.ids import partition_key_candidates
from ingest_pipeline.domain.metadata import InvalidMetadata, read_metadata
from ingest_pipeline.domain.statuses import SETTLED, DocumentStatus, Stage


@dataclass(frozen=True)
class Document:
    id: str
    external_id: str | None
    source: str
    file_name: str
    sha256: str
    size_bytes: int
    media_type: str | None
    version: int
    status: DocumentStatus
    failed_stage: str | None
    reason: str | None
    attempts: int
    pages: int | None
    characters: int | None
    text_hash: str | None
    duplicate_of: str | None
    chunk_count: int
    token_count: int
    parse_key: str | None
    validate_key: str | None
    chunk_key: str | None
    metadata: dict
    created_at: datetime
    updated_at: datetime
    intake_seq: int
    parse_job_id: str | None
    page_errors: dict
    paused_for: str | None
    # The document's Dagster partition: set at registration, never changed (see domain/ids.py).
    partition_key: str
    # Why a stored value of this row cannot be used (metadata written before its bounds, say): the
    # document fails alone with this reason, instead of every read that meets the row.
    load_error: str | None = None


# Metadata comes as text, decoded per row by read_metadata: psycopg2's own decoding of a deeply
# nested value would fail the whole result, and every document in it.
_COLUMNS = ", ".join("metadata::text AS metadata" if f.name == "metadata" else f.name
                     for f in fields(Document) if f.name != "load_error")
# Intake numbers come from a sequence but become visible at commit, out of order. Writers of
# intake_seq hold this lock shared; the sensor's read holds it exclusively, so it never moves its
# cursor past a number whose transaction has not committed yet.
_INTAKE_LOCK = 7_420_002


def _document(row: Any) -> Document:
    values = row._asdict()
    values["status"] = DocumentStatus(values["status"])
    try:
        values["metadata"] = read_metadata(values["metadata"])
    except InvalidMetadata as error:
        values["metadata"], values["load_error"] = {}, f"its stored metadata cannot be read: {error}"
    return Document(**values)


def get(conn: Connection, document_id: str, lock: bool = False) -> Document | None:
    sql = f"SELECT {_COLUMNS} FROM documents WHERE id = :id" + (" FOR UPDATE" if lock else "")
    row = conn.execute(text(sql), {"id": document_id}).first()
    return _document(row) if row else None


def get_many(conn: Connection, ids: Sequence[str]) -> list[Document]:
    """The documents with these ids, in the order given; unknown ids are left out."""
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM documents WHERE id = ANY(:ids)"), {"ids": list(ids)})
    by_id = {doc.id: doc for doc in map(_document, rows)}
    return [by_id[i] for i in ids if i in by_id]


def list_all(conn: Connection, statuses: Iterable[DocumentStatus] = ()) -> list[Document]:
    wanted = [str(s) for s in statuses]
    where = "WHERE status = ANY(:statuses)" if wanted else ""
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM documents {where} ORDER BY created_at, id"), {"statuses": wanted})
    return [_document(row) for row in rows]


def insert(conn: Connection, **values: Any) -> Document | None:
    """Insert a document unless its id exists (a concurrent registration won); the new row, or None.

    Its partition key is the shortest candidate no other document holds (see partition_key_candidates)."""
    names = ", ".join([*values, "partition_key"])
    placeholders = ", ".join(f":{name}" for name in values)
    candidates = partition_key_candidates(values["file_name"], values["id"])
    _hold_intake_lock(conn)
    # No conflict target: every unique index arbitrates. Naming only `id`, two registrations of one
    # external id that pass Postgres's pre-check together make the second fail on the external_id index.
    sql = text(f"INSERT INTO documents ({names}) VALUES ({placeholders}, ({_FREE_KEY})) "
               f"ON CONFLICT DO NOTHING RETURNING {_COLUMNS}")
    for _ in candidates:
        row = conn.execute(sql, {**values, "candidates": candidates}).first()
        if row is not None:
            return _document(row)
        if get(conn, values["id"]) is not None:
            return None
        # A concurrent registration took the same short key: the next statement sees it, and takes a longer one.
    raise RuntimeError(f"document {values['id']}: no free partition key among {candidates}")


# The first candidate key no document holds yet.
_FREE_KEY = ("SELECT k FROM unnest(CAST(:candidates AS text[])) WITH ORDINALITY AS c(k, n) "
             "WHERE NOT EXISTS (SELECT 1 FROM documents WHERE partition_key = c.k) ORDER BY n LIMIT 1")


def by_partition_keys(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    """The id of the document each of these partition keys names; keys no document holds are left out."""
    rows = conn.execute(text("SELECT partition_key, id FROM documents WHERE partition_key = ANY(:keys)"),
                        {"keys": list(keys)})
    return {key: document_id for key, document_id in rows}


def partition_keys(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """The partition key of each of these documents; unknown ids are left out."""
    rows = conn.execute(text("SELECT id, partition_key FROM documents WHERE id = ANY(:ids)"), {"ids": list(ids)})
    return {document_id: key for document_id, key in rows}


def update(conn: Connection, document_id: str, **values: Any) -> None:
    """Set columns on one document and touch `updated_at`."""
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    conn.execute(
        text(f"UPDATE documents SET {assignments}, updated_at = now() WHERE id = :id"),
        {**values, "id": document_id},
    )


def mark_failed(conn: Connection, document_id: str, stage: Stage, reason: str) -> None:
    update(conn, document_id, status=str(DocumentStatus.FAILED), failed_stage=str(stage), reason=reason)


def record_attempt(conn: Connection, document_id: str, error: str) -> int:
    """Count one more failed attempt; returns the new total."""
    return conn.execute(
        text("UPDATE documents SET attempts = attempts + 1, reason = :error, updated_at = now() "
             "WHERE id = :id RETURNING attempts"),
        {"id": document_id, "error": error},
    ).scalar_one()


def find_same_text(conn: Connection, document_id: str, text_hash: str) -> str | None:
    """The earliest other live document whose normalised text is identical, if any."""
    return conn.execute(
        text("SELECT id FROM documents WHERE text_hash = :hash AND id <> :id "
             "AND status = ANY(:live) ORDER BY created_at, id LIMIT 1"),
        {"hash": text_hash, "id": document_id,
         "live": [str(DocumentStatus.VALIDATED), str(DocumentStatus.CHUNKED), str(DocumentStatus.EMBEDDED)]},
    ).scalar()


def request_processing(conn: Connection, document_id: str) -> None:
    """Queue the document for the uploads sensor again (a new version, or a re-drive)."""
    _hold_intake_lock(conn)
    conn.execute(text("UPDATE documents SET intake_seq = nextval('document_intake_seq') WHERE id = :id"),
                 {"id": document_id})


def queued_since(conn: Connection, after: int, limit: int) -> list[tuple[str, int, str]]:
    """(id, intake_seq, sha256) of documents queued after `after` that still await processing
    (new, a new version, or re-driven back to an earlier stage)."""
    settled = [str(status) for status in SETTLED]
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INTAKE_LOCK})
    return [tuple(row) for row in conn.execute(text(
        "SELECT id, intake_seq, sha256 FROM documents WHERE intake_seq > :after AND status <> ALL(:settled) "
        "ORDER BY intake_seq LIMIT :limit"
    ), {"after": after, "settled": settled, "limit": limit})]


def resume_paused(conn: Connection, still_paused: Sequence[str]) -> list[str]:
    """Queue again the documents paused for a provider, but for those whose provider is in `still_paused`."""
    _hold_intake_lock(conn)
    return list(conn.execute(text(
        "UPDATE documents SET paused_for = NULL, reason = NULL, intake_seq = nextval('document_intake_seq') "
        "WHERE paused_for IS NOT NULL AND paused_for <> ALL(:still_paused) RETURNING id"),
        {"still_paused": list(still_paused)}).scalars())


def latest_intake_seq(conn: Connection) -> int:
    return conn.execute(text("SELECT coalesce(max(intake_seq), 0) FROM documents")).scalar_one()


def _hold_intake_lock(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _INTAKE_LOCK})


def page(conn: Connection, status: str | None, limit: int, offset: int) -> tuple[list[str], int]:
    """Ids of one page of documents in registration order (of one status, if given), and how many there are."""
    where = "WHERE status = :status" if status else ""
    params = {"status": status, "limit": limit, "offset": offset}
    total = conn.execute(text(f"SELECT count(*) FROM documents {where}"), params).scalar_one()
    ids = conn.execute(text(f"SELECT id FROM documents {where} ORDER BY created_at, id "
                            "LIMIT :limit OFFSET :offset"), params).scalars().all()
    return list(ids), total


def delete(conn: Connection, document_id: str) -> str | None:
    """Delete the row (pages, chunks and vectors follow by FK cascade); the sha256 of its bytes, or None."""
    return conn.execute(text("DELETE FROM documents WHERE id = :id RETURNING sha256"), {"id": document_id}).scalar()


def release_duplicates(conn: Connection, document_id: str) -> list[str]:
    """Send the duplicates of a document that is going away back to validation, so one of them
    becomes the searchable original instead of all staying hidden."""
    released = list(conn.execute(text(
        "UPDATE documents SET status = :parsed, duplicate_of = NULL, validate_key = NULL, updated_at = now() "
        "WHERE duplicate_of = :id RETURNING id"
    ), {"parsed": str(DocumentStatus.PARSED), "id": document_id}).scalars())
    for duplicate in released:
        request_processing(conn, duplicate)
    return released


def bytes_in_use(conn: Connection, sha256: str) -> bool:
    return conn.execute(text("SELECT 1 FROM documents WHERE sha256 = :sha LIMIT 1"), {"sha": sha256}).first() is not None


def json_type(conn: Connection, raw: str) -> str | None:
    """What Postgres reads `raw` as when cast to jsonb ("object", "array", ...); raises if it is not JSON to it."""
    return conn.execute(text("SELECT jsonb_typeof(CAST(:m AS jsonb))"), {"m": raw}).scalar()


# What `status_totals` adds up per status.
COUNTED = ("documents", "bytes", "pages", "chunks", "tokens")


def status_totals(conn: Connection) -> dict[str, dict[str, int]]:
    """Documents, bytes, pages, chunks and tokens of each status present."""
    rows = conn.execute(text(
        "SELECT status, count(*) AS documents, coalesce(sum(size_bytes), 0) AS bytes, "
        "coalesce(sum(pages), 0) AS pages, coalesce(sum(chunk_count), 0) AS chunks, "
        "coalesce(sum(token_count), 0) AS tokens FROM documents GROUP BY status")).mappings()
    return {row["status"]: {name: int(row[name]) for name in COUNTED} for row in rows}
